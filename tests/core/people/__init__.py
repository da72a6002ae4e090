"""Tests of hub/people/."""
