"""The room: every part the hub drives, by device id."""

from __future__ import annotations

from typing import Any

from .button import WallButton
from .diffuser import Diffuser
from .heatpad import HeatPad
from .light import DimmableLight
from .speaker import Speaker


class Room:
    """Hold the lights, diffuser, heat pads, speaker and optional button of one room."""

    def __init__(
        self,
        *,
        lights: dict[str, DimmableLight],
        diffuser: Diffuser | None,
        heat_pads: dict[str, HeatPad],
        speaker: Speaker | None = None,
        button: WallButton | None = None,
        thermometers: dict[str, Any] | None = None,
        diffuser_id: str = "diffuser",
        speaker_id: str = "speaker",
    ) -> None:
        self.lights = lights
        self.diffuser = diffuser
        self.diffuser_id = diffuser_id
        self.heat_pads = heat_pads
        self.speaker = speaker
        self.speaker_id = speaker_id
        self.button = button
        #: the pads' temperature sensors, by pad id (only pads that have one)
        self.thermometers: dict[str, Any] = dict(thermometers or {})

    def devices(self) -> dict[str, Any]:
        """Return every output device by id, lights first."""
        out: dict[str, Any] = dict(self.lights)
        if self.diffuser is not None:
            out[self.diffuser_id] = self.diffuser
        out.update(self.heat_pads)
        if self.speaker is not None:
            out[self.speaker_id] = self.speaker
        return out

    def all_off(self) -> None:
        """Switch every output off at once, heat first."""
        for pad in self.heat_pads.values():
            pad.off()
        if self.diffuser is not None:
            self.diffuser.off()
        for light in self.lights.values():
            light.off()
        if self.speaker is not None:
            self.speaker.stop()
            self.speaker.volume = 0

    def close(self) -> None:
        """Switch everything off and release every pin."""
        self.all_off()
        for pad in self.heat_pads.values():
            pad.close()
        if self.diffuser is not None:
            self.diffuser.close()
        for light in self.lights.values():
            light.close()
        if self.speaker is not None:
            self.speaker.close()
        if self.button is not None:
            self.button.close()
        for thermometer in self.thermometers.values():
            thermometer.close()
