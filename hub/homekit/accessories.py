"""The room as HomeKit accessories: lights, the diffuser, one switch per scene, All off.

Each accessory turns what a controller writes into one public hub command, and shows the
hub's state in :meth:`HubAccessory.refresh` (called with every event's state, so the values
push to paired controllers as they change). A refused command is logged in plain words,
answered with an error, and the accessory shows the hub's real state again.

Heat pads are not here on purpose: Siri must not be a way to switch a mains pad on. Heat
comes only with a session (a scene switch), under the hub's safety rules and limits.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyhap.accessory import Accessory
from pyhap.const import CATEGORY_LIGHTBULB, CATEGORY_SWITCH

from .. import __version__
from ..command_models import DiffuserCommand, LightCommand
from ..errors import HubError
from ..facts import DiffuserMode, Phase
from ..scenes.scene import spoken_name

if TYPE_CHECKING:
    from pyhap.accessory_driver import AccessoryDriver

    from ..core import Hub

log = logging.getLogger(__name__)

MANUFACTURER = "massage-hub"
MOMENTARY_SECONDS = 1.0  # All off reads "on" this long after a tap, then off again


def hap_name(name: str) -> str:
    """Return ``name`` with only what Apple Home accepts in a name (letters, digits, ' . , -)."""
    cleaned = re.sub(r"[^\w '.,-]|_", " ", name)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" '.,-")
    return cleaned or "Massage hub"


def stable_aid(kind: str, key: str, taken: set[int]) -> int:
    """Return an accessory id made from ``kind`` and ``key``: the same at every start.

    Controllers remember accessories by id, so adding a scene must not renumber the others.
    """
    aid = zlib.crc32(f"{kind}:{key}".encode()) % (2**31 - 2) + 2  # 1 is the bridge
    while aid in taken:
        aid = aid + 1 if aid < 2**31 else 2
    taken.add(aid)
    return aid


class HubAccessory(Accessory):  # type: ignore[misc]
    """An accessory that runs hub commands and shows the hub's state."""

    def __init__(self, driver: AccessoryDriver, hub: Hub, name: str, aid: int, serial: str) -> None:
        super().__init__(driver, hap_name(name), aid=aid)
        self.hub = hub
        self.set_info_service(
            firmware_revision=__version__,
            manufacturer=MANUFACTURER,
            model=type(self).__name__,
            serial_number=serial,
        )

    def refresh(self, state: dict[str, Any]) -> None:
        """Show ``state`` (a ``Hub.state()``); a change pushes to subscribed controllers."""

    def run_command(self, what: str, command: Callable[[], Any]) -> None:
        """Run a hub command; on refusal, log why, show the real state, and fail the write."""
        try:
            command()
        except HubError as exc:
            log.warning("Apple Home: %s was refused: %s", what, exc.message)
            self.refresh(self.hub.state())
            raise


class HubLight(HubAccessory):
    """A light as a Lightbulb with Brightness; changes glide through the hub's fader."""

    category = CATEGORY_LIGHTBULB

    def __init__(
        self,
        driver: AccessoryDriver,
        hub: Hub,
        device_id: str,
        name: str,
        aid: int,
        fade_seconds: float,
    ) -> None:
        super().__init__(driver, hub, name, aid, device_id)
        self.device_id = device_id
        self.fade_seconds = fade_seconds
        service = self.add_preload_service("Lightbulb", chars=["Brightness"])
        self.on = service.configure_char("On", value=False)
        self.brightness = service.configure_char("Brightness", value=100)
        service.setter_callback = self._written

    def _written(self, values: dict[str, Any]) -> None:
        fade = self.fade_seconds
        if values.get("On") is False:
            cmd = LightCommand(on=False, fade_seconds=fade)
        elif "Brightness" in values:
            cmd = LightCommand(level=round(int(values["Brightness"]) / 100, 4), fade_seconds=fade)
        else:
            cmd = LightCommand(on=bool(values.get("On")), fade_seconds=fade)
        self.run_command(
            f"setting {self.display_name}", lambda: self.hub.devices.set(self.device_id, cmd)
        )

    def refresh(self, state: dict[str, Any]) -> None:
        """Show the level the light has, or is fading to."""
        device = state.get("devices", {}).get(self.device_id, {})
        level = float(device.get("fading_to", {}).get("level", device.get("level", 0.0)))
        self.on.set_value(level > 0)
        if level > 0:  # off keeps the last brightness, as Apple's own lights do
            self.brightness.set_value(max(1, min(100, round(level * 100))))


class DiffuserSwitch(HubAccessory):
    """The diffuser as a Switch: on while on or misting at intervals."""

    category = CATEGORY_SWITCH

    def __init__(
        self, driver: AccessoryDriver, hub: Hub, device_id: str, name: str, aid: int
    ) -> None:
        super().__init__(driver, hub, name, aid, device_id)
        self.device_id = device_id
        service = self.add_preload_service("Switch")
        self.on = service.configure_char("On", value=False)
        service.setter_callback = self._written

    def _written(self, values: dict[str, Any]) -> None:
        cmd = DiffuserCommand(on=bool(values.get("On")))
        self.run_command(
            f"switching {self.display_name}", lambda: self.hub.devices.set(self.device_id, cmd)
        )

    def refresh(self, state: dict[str, Any]) -> None:
        """Show on unless the diffuser's mode is off."""
        mode = state.get("devices", {}).get(self.device_id, {}).get("mode", DiffuserMode.OFF)
        self.on.set_value(mode != DiffuserMode.OFF)


class SceneSwitch(HubAccessory):
    """A scene as a Switch: on starts a session of it (its default length), off stops it.

    It reads on while a session of this scene runs, its fade-out included; off during the
    fade-out ends the session at once (as a second stop does anywhere else).
    """

    category = CATEGORY_SWITCH

    def __init__(self, driver: AccessoryDriver, hub: Hub, scene: dict[str, Any], aid: int) -> None:
        super().__init__(driver, hub, self.name_for(scene), aid, f"scene-{scene['id']}")
        self.scene_id = str(scene["id"])
        service = self.add_preload_service("Switch")
        self.on = service.configure_char("On", value=False)
        service.setter_callback = self._written

    @staticmethod
    def name_for(scene: dict[str, Any]) -> str:
        """Return the name the switch of ``scene`` shows (and Siri hears)."""
        return hap_name(spoken_name(scene))

    def _running(self, state: dict[str, Any]) -> bool:
        session = state.get("session")
        return bool(
            session
            and session.get("scene") == self.scene_id
            and session.get("phase") != Phase.ENDED
        )

    def _written(self, values: dict[str, Any]) -> None:
        if values.get("On"):
            if self._running(self.hub.state()):
                return  # on already: Siri asked twice
            self.run_command(
                f"starting {self.display_name}",
                lambda: self.hub.sessions.start(self.scene_id, source="homekit"),
            )
        elif self._running(self.hub.state()):  # off stops only this scene's session
            self.run_command(f"stopping {self.display_name}", self.hub.sessions.stop)

    def refresh(self, state: dict[str, Any]) -> None:
        """Show on while a session of this scene runs."""
        self.on.set_value(self._running(state))


class AllOffSwitch(HubAccessory):
    """All off as a momentary Switch: a tap switches the room off, then it reads off again."""

    category = CATEGORY_SWITCH

    def __init__(self, driver: AccessoryDriver, hub: Hub, aid: int) -> None:
        super().__init__(driver, hub, "All off", aid, "all-off")
        service = self.add_preload_service("Switch")
        self.on = service.configure_char("On", value=False)
        service.setter_callback = self._written

    def _written(self, values: dict[str, Any]) -> None:
        if not values.get("On"):
            return
        self.run_command("all off", lambda: self.hub.devices.all_off(reason="homekit"))
        self.driver.loop.call_later(MOMENTARY_SECONDS, self.on.set_value, False)
