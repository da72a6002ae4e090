"""Scenes: what a scene does to the room, and its timeline of cues and steps."""
