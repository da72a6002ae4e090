"""Tests of hub/guests/."""
