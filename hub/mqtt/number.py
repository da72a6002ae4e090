"""The number platform: the volume and the length of the next session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..command_models import SpeakerCommand
from .entity import CONFIG, Action, Choices, Entity, Node, device_change, parse_number

if TYPE_CHECKING:
    from ..core import Hub


class Number(Entity):
    """A number from ``low`` to ``high`` in steps of 1."""

    component = "number"
    mode = "box"

    def __init__(self, object_id: str, name: str, icon: str, low: float, high: float) -> None:
        super().__init__(object_id, name, icon)
        self.low = low
        self.high = high

    def config(self, node: Node) -> dict[str, Any]:
        """Return the name, icon, bounds and input mode."""
        return {
            **super().config(node),
            "min": self.low,
            "max": self.high,
            "step": 1,
            "mode": self.mode,
        }

    def parse(self, payload: str) -> float:
        """Return the payload as a number within the bounds."""
        return parse_number(payload, self.low, self.high)


class VolumeNumber(Number):
    """The speaker's volume, 0 to ``speaker.max_volume``."""

    mode = "slider"

    def __init__(self, hub: Hub, device_id: str, max_volume: float) -> None:
        super().__init__("volume", "Volume", "mdi:volume-high", 0, float(max_volume))
        self.hub = hub
        self.device_id = device_id

    def state(self, state: dict[str, Any]) -> str:
        """Return the volume as a whole number."""
        speaker = state.get("devices", {}).get(self.device_id, {})
        return str(round(float(speaker.get("volume", 0))))

    def command(self, payload: str) -> Action:
        """Parse a number into setting the volume."""
        cmd = SpeakerCommand.model_construct(volume=self.parse(payload))
        return device_change(self.hub, self.device_id, cmd)


class SessionMinutes(Number):
    """How long the next session started from Home Assistant lasts, in whole minutes."""

    def __init__(self, choices: Choices, max_minutes: float) -> None:
        super().__init__(
            "session_minutes", "Session minutes", "mdi:timer-cog-outline", 1, float(max_minutes)
        )
        self.category = CONFIG
        self.choices = choices

    def config(self, node: Node) -> dict[str, Any]:
        """Return the number's fields, in minutes."""
        return {**super().config(node), "unit_of_measurement": "min"}

    def state(self, state: dict[str, Any]) -> str:
        """Return the minutes chosen."""
        return f"{self.choices.minutes:g}"

    def command(self, payload: str) -> Action:
        """Parse a number into the minutes of the next start (rounded to a whole minute)."""
        minutes = float(round(self.parse(payload)))

        def choose() -> None:
            self.choices.minutes = minutes
            self.choices.changed()

        return choose
