"""Backup and restore, and the checks every stored row passes."""
