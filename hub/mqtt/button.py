"""The button platform: session controls and All off."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..command_models import SessionExtend, SpeakerCommand
from .entity import Action, BadPayload, Choices, Entity, Node, device_change

if TYPE_CHECKING:
    from ..core import Hub

PRESS = "PRESS"
EXTEND_MINUTES = SessionExtend().minutes  # the hub's own default for "extend"


class Button(Entity):
    """A button: ``PRESS`` runs one hub command."""

    component = "button"
    has_state = False

    def __init__(self, object_id: str, name: str, icon: str, action: Callable[[], Any]) -> None:
        super().__init__(object_id, name, icon)
        self.action = action

    def config(self, node: Node) -> dict[str, Any]:
        """Return the name, icon and the press payload."""
        return {**super().config(node), "payload_press": PRESS}

    def command(self, payload: str) -> Action:
        """Accept ``PRESS`` only."""
        if payload.strip() != PRESS:
            raise BadPayload(f"a button takes {PRESS}")
        return self.action


def session_buttons(hub: Hub, choices: Choices) -> list[Button]:
    """Return the session buttons and All off."""

    def start() -> None:
        hub.sessions.start(choices.scene, choices.minutes, source="mqtt")

    return [
        Button("session_start", "Start session", "mdi:play", start),
        Button("session_pause", "Pause session", "mdi:pause", hub.sessions.pause),
        Button("session_resume", "Resume session", "mdi:play-pause", hub.sessions.resume),
        Button(
            "session_extend",
            f"Extend session {EXTEND_MINUTES:g} min",
            "mdi:timer-plus-outline",
            lambda: hub.sessions.extend(EXTEND_MINUTES),
        ),
        Button("session_stop", "Stop session", "mdi:stop", hub.sessions.stop),
        Button("all_off", "All off", "mdi:power", lambda: hub.devices.all_off(reason="mqtt")),
    ]


def music_buttons(hub: Hub, speaker_id: str) -> list[Button]:
    """Return play, pause, stop and next for the speaker (pause keeps the place; play goes on)."""

    def speaker(**fields: Any) -> Callable[[], Any]:
        return device_change(hub, speaker_id, SpeakerCommand.model_construct(**fields))

    return [
        Button("music_play", "Play music", "mdi:play-circle-outline", speaker(playing=True)),
        Button("music_pause", "Pause music", "mdi:pause-circle-outline", speaker(playing=False)),
        Button("music_stop", "Stop music", "mdi:stop-circle-outline", speaker(stop=True)),
        Button("music_next", "Next track", "mdi:skip-next-circle-outline", speaker(next=True)),
    ]
