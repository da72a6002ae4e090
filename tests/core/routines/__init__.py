"""Tests of hub/routines/."""
