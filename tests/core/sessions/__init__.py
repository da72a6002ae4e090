"""Tests of hub/sessions/."""
