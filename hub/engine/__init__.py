"""The control loop, its clock, the event bus and the watchdog."""
