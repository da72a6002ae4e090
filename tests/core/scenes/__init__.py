"""Tests of hub/scenes/."""
