"""The room's parts (lights, diffuser, pads, speaker) and the safety that holds them."""
