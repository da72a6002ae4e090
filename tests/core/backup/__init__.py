"""Tests of hub/backup/."""
