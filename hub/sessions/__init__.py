"""Sessions: pre-warm, active, fade-out, ended; pause, extend and their cues."""
