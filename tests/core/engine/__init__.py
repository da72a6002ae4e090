"""Tests of hub/engine/."""
