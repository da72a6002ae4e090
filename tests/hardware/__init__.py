"""The room's parts: pins, kernel PWM, audio through libvlc, the pi rig."""
