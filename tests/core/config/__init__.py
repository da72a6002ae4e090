"""Tests of hub/config/."""
