"""The switch platform: the diffuser on or off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..command_models import DiffuserCommand
from ..facts import DiffuserMode
from .entity import OFF, ON, Action, Entity, device_change, parse_choice

if TYPE_CHECKING:
    from ..core import Hub


class DiffuserSwitch(Entity):
    """The diffuser: ``ON`` while on or in interval mode; ``ON`` keeps interval mode."""

    component = "switch"

    def __init__(self, hub: Hub, device_id: str, name: str) -> None:
        super().__init__("diffuser", name, "mdi:scent")
        self.hub = hub
        self.device_id = device_id

    def state(self, state: dict[str, Any]) -> str:
        """Return ``OFF`` when the diffuser's mode is off, else ``ON``."""
        mode = state.get("devices", {}).get(self.device_id, {}).get("mode", DiffuserMode.OFF)
        return OFF if mode == DiffuserMode.OFF else ON

    def command(self, payload: str) -> Action:
        """Parse ``ON``/``OFF`` (any case) into switching the diffuser."""
        value = parse_choice(payload.upper(), [ON, OFF])
        return device_change(
            self.hub, self.device_id, DiffuserCommand.model_construct(on=value == ON)
        )
