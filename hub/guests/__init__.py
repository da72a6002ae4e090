"""Visiting therapists: time-limited guest links and what they may do."""
