"""The hub as one Home Assistant device: its device block and its entities."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..facts import DeviceKind
from ..room.energy import counts_energy
from .button import music_buttons, session_buttons
from .diagnostics import Backends, NowPlaying, SessionEndsAt, StartedAt, pad_diagnostics
from .entity import Choices, Entity
from .event import SessionEvent
from .light import Light
from .number import SessionMinutes, VolumeNumber
from .pad import pad_sensors
from .select import DiffuserModeSelect, HeatSelect, PlaylistSelect, SceneSelect
from .sensor import EnergyTotal, MinutesRemaining, SessionPhase
from .switch import DiffuserSwitch
from .table import LimitsSensor, TableSelect
from .trigger import device_triggers

if TYPE_CHECKING:
    from ..config.model import Config
    from ..core import Hub

ORIGIN = {"name": "massage-hub", "sw_version": __version__}


def build_entities(hub: Hub, config: Config, choices: Choices) -> dict[str, Entity]:
    """Return every entity of the hub's room, by object id."""
    made: list[Entity] = []
    for info in hub.devices.info():
        if info.kind == DeviceKind.LIGHT:
            made.append(Light(hub, info.id, info.name))
        elif info.kind == DeviceKind.DIFFUSER:
            made += [DiffuserSwitch(hub, info.id, info.name), DiffuserModeSelect(hub, info.id)]
        elif info.kind == DeviceKind.HEAT_PAD:
            made += [HeatSelect(hub, info.id, info.name), *pad_diagnostics(info.id, info.name)]
            if config.heat_pads[info.id].sensor is not None:
                made += pad_sensors(info.id, info.name)
            made.append(TableSelect(hub, info.id, info.name))
        elif info.kind == DeviceKind.SPEAKER:
            made += [
                VolumeNumber(hub, info.id, config.speaker.max_volume),
                PlaylistSelect(hub, info.id),
                NowPlaying(info.id),
                *music_buttons(hub, info.id),
            ]
    made += [SceneSelect(hub, choices), SessionMinutes(choices, config.session.max_minutes)]
    made += session_buttons(hub, choices)
    made += [SessionPhase(), MinutesRemaining(), SessionEndsAt(), SessionEvent()]
    made += [Backends(), StartedAt(datetime.now(UTC)), LimitsSensor()]
    if counts_energy(config):  # no watts anywhere: no energy sensor, rather than a "0 kWh"
        made.append(EnergyTotal())
    made += device_triggers(config.button is not None)
    return {entity.object_id: entity for entity in made}


def configuration_url(config: Config) -> str:
    """Return the web UI's address for Home Assistant's device page."""
    if config.mqtt.configuration_url:
        return config.mqtt.configuration_url
    host = config.web.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname() or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.web.port}/"


def device_block(config: Config, backend: str) -> dict[str, Any]:
    """Return the Home Assistant device block every entity shares."""
    mc = config.mqtt
    name = mc.device_name or mc.node_id.replace("_", " ").replace("-", " ").capitalize()
    return {
        "identifiers": [f"massagehub_{mc.node_id}"],
        "name": name,
        "manufacturer": "massage-hub",
        "model": f"massage-hub ({backend})",
        "sw_version": __version__,
        "configuration_url": configuration_url(config),
        **({"suggested_area": mc.area} if mc.area else {}),
    }
