"""The light platform: one JSON-schema light per hub light, dimmed by the hub's own fades."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..command_models import LightCommand
from ..facts import MAX_FADE_SECONDS
from .entity import OFF, ON, Action, BadPayload, Entity, Node, device_change

if TYPE_CHECKING:
    from ..core import Hub

#: Home Assistant's brightness runs 0-255 (``brightness_scale``); the hub's level 0-1
BRIGHTNESS_SCALE = 255
KEYS = {"state", "brightness", "transition"}


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def light_command(payload: str) -> LightCommand:
    """Parse a Home Assistant JSON light command into the hub's light command."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise BadPayload("not JSON") from None
    if not isinstance(data, dict):
        raise BadPayload("expected a JSON object")
    if "flash" in data:
        # declared ``flash: false``; Home Assistant 2025.4's JSON light offers it regardless
        raise BadPayload("this light cannot flash")
    unknown = set(data) - KEYS
    if unknown:
        raise BadPayload(f"unsupported keys: {', '.join(sorted(map(str, unknown)))}")
    state = data.get("state")
    if state is not None and state not in (ON, OFF):
        raise BadPayload(f"state must be {ON} or {OFF}")
    fade = data.get("transition", 0)
    if not _is_number(fade) or not 0 <= fade <= MAX_FADE_SECONDS:
        raise BadPayload(f"transition must be 0 to {MAX_FADE_SECONDS:g} seconds")
    brightness = data.get("brightness")
    if brightness is not None and not (
        _is_number(brightness) and 0 <= brightness <= BRIGHTNESS_SCALE
    ):
        raise BadPayload(f"brightness must be 0 to {BRIGHTNESS_SCALE}")
    fields: dict[str, Any] = {"fade_seconds": float(fade)}
    if state == OFF:
        fields["on"] = False
    elif brightness is not None:
        fields["level"] = round(float(brightness) / BRIGHTNESS_SCALE, 4)
    elif state == ON:
        fields["on"] = True
    else:
        raise BadPayload("send state or brightness")
    # every field is checked above against the model's own bounds: no second validation
    return LightCommand.model_construct(**fields)


def parse_light_command(payload: str) -> dict[str, Any]:
    """Turn a Home Assistant JSON light command into a ``hub.devices.set`` change."""
    return light_command(payload).model_dump(exclude_unset=True)


class Light(Entity):
    """A dimmable light: ``{"state", "brightness", "transition"}`` in, the level out."""

    component = "light"

    def __init__(self, hub: Hub, device_id: str, name: str) -> None:
        super().__init__(f"light_{device_id}", name)
        self.hub = hub
        self.device_id = device_id

    def config(self, node: Node) -> dict[str, Any]:
        """Return the JSON-schema light's discovery fields."""
        return {
            **super().config(node),
            "schema": "json",
            "supported_color_modes": ["brightness"],
            "brightness_scale": BRIGHTNESS_SCALE,
            "flash": False,  # the hub does not flash: Home Assistant must not offer it
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return ``{"state": "ON", "brightness": 1-255, "color_mode": ...}`` or ``OFF``."""
        level = float(state.get("devices", {}).get(self.device_id, {}).get("level", 0.0))
        body: dict[str, Any] = {"state": ON if level > 0 else OFF}
        if level > 0:
            body["brightness"] = max(1, round(level * BRIGHTNESS_SCALE))
            body["color_mode"] = "brightness"
        return json.dumps(body, sort_keys=True)

    def command(self, payload: str) -> Action:
        """Parse a JSON light command into a change of this light."""
        return device_change(self.hub, self.device_id, light_command(payload))
