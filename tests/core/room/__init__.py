"""Tests of hub/room/."""
