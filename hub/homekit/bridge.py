"""The HomeKit bridge component: HAP-python's driver on its own thread, fed by hub events.

The driver runs an asyncio loop on the ``homekit`` thread: the HAP server (pairing and
encrypted sessions with controllers) and the ``_hap._tcp`` mDNS advertisement (zeroconf).
Writes from controllers run hub commands on that thread; the hub's events come in on the
hub's event thread and only set characteristic values, which the driver pushes to the
controllers subscribed to them.

Kept in ``data_dir/homekit/``: ``accessory.state`` (HAP-python: the bridge's keys and its
paired controllers) and ``setup.json`` (the setup code and setup id), both readable by the
service's user only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyhap.accessory import Bridge
from pyhap.accessory_driver import AccessoryDriver

from .. import __version__
from ..engine.event_types import ScenesChanged
from ..errors import HubError
from ..facts import DeviceKind
from .accessories import (
    MANUFACTURER,
    AllOffSwitch,
    DiffuserSwitch,
    HubAccessory,
    HubLight,
    SceneSwitch,
    hap_name,
    stable_aid,
)
from .network import local_address, mdns_interfaces
from .server import BoundedHAPServer
from .setup_code import SetupCode, load_or_create, save
from .srp import HubDriver

if TYPE_CHECKING:
    from ..config.model import Config
    from ..core import Hub
    from ..engine.events import Event

log = logging.getLogger(__name__)

MAX_ACCESSORIES = 149  # a HomeKit bridge holds at most 150, itself included
WORKERS = 2  # threads for HAP-python's blocking jobs
START_SECONDS = 30.0
STOP_SECONDS = 10.0


class RefusalFilter(logging.Filter):
    """Drop HAP-python's traceback for a command the hub refused (we log it in plain words)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a record carrying a :class:`HubError`."""
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, HubError)


REFUSALS = RefusalFilter()


class HubBridge(Bridge):  # type: ignore[misc]
    """The bridge accessory; it logs how to pair instead of printing to the console."""

    def __init__(self, driver: AccessoryDriver, name: str, on_unpaired: Callable[[], None]) -> None:
        super().__init__(driver, name)
        self._on_unpaired = on_unpaired
        self.set_info_service(
            firmware_revision=__version__,
            manufacturer=MANUFACTURER,
            model="Massage room hub",
            serial_number=driver.state.mac,
        )

    def setup_message(self) -> None:
        """Log the setup code (HAP-python calls this at start while unpaired)."""
        self._on_unpaired()


class HomeKitBridge:
    """Make the hub a HomeKit bridge: its lights, diffuser, scenes and All off."""

    name = "homekit"
    optional = True  # the hub runs without it if it cannot start (hub.service retries)

    def __init__(self, hub: Hub, config: Config) -> None:
        self.hub = hub
        self.config = config
        self.hc = config.homekit
        self.folder: Path = config.data_path / "homekit"
        self.setup: SetupCode | None = None
        self.driver: AccessoryDriver | None = None
        self.accessories: list[HubAccessory] = []
        self.bridge: HubBridge | None = None
        self._taken: set[int] = set()  # accessory ids given out
        self._scene_aids: dict[str, int] = {}  # a scene keeps its id when renamed
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the HAP server and the mDNS advertisement; raise in plain words if they can't.

        It may be called again after a failed start (the service retries).
        """
        self._error = None
        self._started.clear()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        logging.getLogger("pyhap.accessory_driver").addFilter(REFUSALS)
        self.setup = load_or_create(self.folder / "setup.json")
        interfaces = mdns_interfaces(self.hc.interfaces)
        address = self.hc.address or (interfaces[0] if isinstance(interfaces, list) else None)
        address = address or local_address()
        # our own loop and a small pool for HAP-python's blocking jobs (writing its state
        # file): its default pool may grow to 32 threads
        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(WORKERS, thread_name_prefix="homekit"))
        driver = HubDriver(  # pairs with full-width SRP values (see .srp)
            loop=loop,
            port=self.hc.port,
            address=address,
            persist_file=str(self.folder / "accessory.state"),
            pincode=self.setup.code.encode(),
            interface_choice=interfaces,
        )
        driver.state.setup_id = self.setup.setup_id  # HAP-python would make a new one
        driver.http_server = BoundedHAPServer((address, self.hc.port), driver)
        self.driver = driver
        bridge = HubBridge(driver, hap_name(self.hc.name), self._log_setup)
        self.bridge = bridge
        for accessory in self._build(driver):
            bridge.add_accessory(accessory)
        self._sync_scenes()
        driver.add_accessory(bridge)  # loads accessory.state (the pairings), or writes it
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self.refresh(self.hub.state())
        self._thread = threading.Thread(target=self._run, name="homekit", daemon=True)
        self._thread.start()
        if not self._started.wait(START_SECONDS):
            self._error = TimeoutError(f"not started after {START_SECONDS:g} s")
        if self._error is not None:
            error = self._error
            self.stop()
            if isinstance(error, OSError):
                raise RuntimeError(
                    f"Apple Home: cannot listen on {driver.state.address} port {self.hc.port} "
                    f"({error.strerror or error}); choose another homekit.port or homekit.address"
                ) from None
            raise RuntimeError(f"Apple Home could not start: {error}") from error
        log.info(
            "Apple Home: bridge %r on %s port %d with %d accessories",
            bridge.display_name,
            driver.state.address,
            self.hc.port,
            len(self.accessories),
        )

    def _run(self) -> None:
        assert self.driver is not None
        driver = self.driver
        loop = driver.loop
        asyncio.set_event_loop(loop)
        driver.tid = threading.current_thread()  # the driver publishes directly from here
        try:
            try:
                loop.run_until_complete(driver.async_start())
            except BaseException as exc:  # noqa: BLE001 - start() reports it
                self._error = exc
                return
            finally:
                self._started.set()
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)  # zeroconf's last announcements, say
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop advertising, close every controller's connection, stop the thread."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        driver, thread = self.driver, self._thread
        if driver is None or thread is None:
            return
        if thread.is_alive() and self._error is None and driver.aio_stop_event is not None:
            try:
                asyncio.run_coroutine_threadsafe(driver.async_stop(), driver.loop).result(
                    STOP_SECONDS
                )
            except Exception:
                log.exception("Apple Home: stopping the bridge failed")
            driver.loop.call_soon_threadsafe(driver.loop.stop)
        thread.join(STOP_SECONDS)  # after a failed start the thread ends by itself
        if thread.is_alive():
            log.error("Apple Home: the bridge did not stop within %g s", STOP_SECONDS)
        self._thread = None

    # --- accessories and state --------------------------------------------------------------

    def _build(self, driver: AccessoryDriver) -> list[HubAccessory]:
        taken = self._taken
        made: list[HubAccessory] = []
        for info in self.hub.devices.info():
            if info.kind == DeviceKind.LIGHT:
                aid = stable_aid("light", info.id, taken)
                made.append(
                    HubLight(driver, self.hub, info.id, info.name, aid, self.hc.fade_seconds)
                )
            elif info.kind == DeviceKind.DIFFUSER:
                aid = stable_aid("diffuser", info.id, taken)
                made.append(DiffuserSwitch(driver, self.hub, info.id, info.name, aid))
            # heat pads: never a bare heater (heat comes only with a session)
        made.append(AllOffSwitch(driver, self.hub, stable_aid("all_off", "", taken)))
        self.accessories = list(made)
        return made

    def _sync_scenes(self) -> bool:
        """Give every scene a switch, and only those; return True if any changed.

        At start, and on the driver's thread whenever the scenes change (one is added in the
        web UI, renamed or deleted): controllers then fetch the new list.
        """
        assert self.driver is not None and self.bridge is not None
        scenes = {str(s["id"]): s for s in self.hub.scenes.list()}
        changed = False
        for switch in [a for a in self.accessories if isinstance(a, SceneSwitch)]:
            scene = scenes.get(switch.scene_id)
            if scene is None or switch.display_name != SceneSwitch.name_for(scene):
                del self.bridge.accessories[switch.aid]
                self.accessories.remove(switch)
                changed = True
        have = {a.scene_id for a in self.accessories if isinstance(a, SceneSwitch)}
        for scene_id, scene in scenes.items():
            if scene_id in have:
                continue
            if len(self.accessories) >= MAX_ACCESSORIES:
                log.warning(
                    "Apple Home: a bridge holds at most %d accessories; scene %r and later "
                    "ones are left out",
                    MAX_ACCESSORIES,
                    scene["name"],
                )
                break
            aid = self._scene_aids.get(scene_id) or stable_aid("scene", scene_id, self._taken)
            self._scene_aids[scene_id] = aid
            switch = SceneSwitch(self.driver, self.hub, scene, aid)
            self.bridge.add_accessory(switch)
            self.accessories.append(switch)
            changed = True
        return changed

    def _scenes_changed(self) -> None:
        try:
            if self._sync_scenes():
                assert self.driver is not None
                self.refresh(self.hub.state())
                self.driver.config_changed()  # a new configuration number: controllers re-read
        except Exception:
            log.exception("Apple Home: updating the scene switches failed")

    def refresh(self, state: dict[str, Any]) -> None:
        """Show ``state`` on every accessory (changed values push to controllers)."""
        for accessory in self.accessories:
            try:
                accessory.refresh(state)
            except Exception:
                log.exception("Apple Home: showing the state of %s failed", accessory.display_name)

    def _on_event(self, event: Event) -> None:
        if isinstance(event.payload, ScenesChanged) and self.driver is not None:
            self.driver.loop.call_soon_threadsafe(self._scenes_changed)
        if event.state:
            self.refresh(event.state)

    # --- pairing ----------------------------------------------------------------------------

    @property
    def paired(self) -> bool:
        """True once a controller (an iPhone's Home app) has paired."""
        return self.driver is not None and bool(self.driver.state.paired_clients)

    def status(self) -> dict[str, Any]:
        """Return the bridge's state for Settings: the setup code and URI only while unpaired."""
        paired = self.paired
        running = self._thread is not None and self._thread.is_alive()
        show = self.setup is not None and not paired
        return {
            "enabled": True,
            "running": running,
            "paired": paired,
            "name": hap_name(self.hc.name),
            "port": self.hc.port,
            "accessories": [a.display_name for a in self.accessories],
            "setup_code": self.setup.code if show and self.setup else None,
            "setup_uri": self.setup.uri() if show and self.setup else None,
        }

    def reset_pairing(self) -> None:
        """Forget every paired controller, close their connections, make a new setup code."""
        driver = self.driver
        if driver is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("Apple Home is not running")
        fresh = SetupCode.new()
        save(self.folder / "setup.json", fresh)

        async def reset() -> None:
            state = driver.state
            state.paired_clients.clear()
            state.client_properties.clear()
            state.uuid_to_bytes.clear()
            state.pincode = fresh.code.encode()
            state.setup_id = fresh.setup_id
            await driver.loop.run_in_executor(None, driver.persist)
            for connection in list(driver.http_server.connections.values()):
                connection.close()
            driver.async_update_advertisement()  # "not paired": the Home app may add it again

        try:
            asyncio.run_coroutine_threadsafe(reset(), driver.loop).result(STOP_SECONDS)
        except TimeoutError:
            raise RuntimeError("Apple Home did not answer in time; try again") from None
        self.setup = fresh
        log.warning("Apple Home: every pairing was removed")
        self._log_setup()

    def _log_setup(self) -> None:
        if self.setup is None:
            return
        log.warning(
            "Apple Home is not paired yet. In the Home app tap + then Add Accessory, and scan "
            "the QR code in the hub's Settings or enter the setup code %s (setup URI %s)",
            self.setup.code,
            self.setup.uri(),
        )
