"""Routines: scheduled scenes, sessions and wind-downs, planned in local time."""
