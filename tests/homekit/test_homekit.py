"""Apple Home with a real HomeKit controller (aiohomekit) over loopback: pair, control, unpair.

The hub is a fake-clock hub on simulated pins; its HomeKit bridge is the real HAP-python
server and zeroconf advertisement, bound to 127.0.0.1 (as is the controller's zeroconf).
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.config.model import Config
from hub.core import Hub
from hub.homekit import homekit_component
from hub.homekit.bridge import HomeKitBridge
from hub.homekit.srp import FullWidthServer
from tests.rigs.homekit_controller import (
    BRIGHTNESS,
    INFORMATION,
    LIGHTBULB,
    ON,
    PROTOCOL_INFORMATION,
    SWITCH,
    by_name,
    char,
    controller,
    pair,
    wait_until,
)
from tests.rigs.support import free_port

pytestmark = pytest.mark.timeout(180)


def homekit_config(make_config: Callable[..., Config], **extra: Any) -> Config:
    return make_config(
        {
            "homekit": {
                "enabled": True,
                "port": free_port(),
                "address": "127.0.0.1",
                "interfaces": ["127.0.0.1"],
                "name": "Test Massage Room",
                **extra,
            }
        }
    )


@pytest.fixture
def bridges() -> Iterator[Callable[[Hub, Config], HomeKitBridge]]:
    made: list[HomeKitBridge] = []

    def make(hub: Hub, config: Config) -> HomeKitBridge:
        bridge = homekit_component(SimpleNamespace(hub=hub, config=config))
        assert isinstance(bridge, HomeKitBridge)
        made.append(bridge)
        bridge.start()
        return bridge

    yield make
    for bridge in made:
        bridge.stop()


def test_a_real_controller_pairs_controls_the_room_hears_the_session_end_and_unpairs(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
) -> None:
    config = homekit_config(make_config)
    hub = make_hub(config)
    bridge = bridges(hub, config)
    status = bridge.status()
    assert status["paired"] is False
    code = status["setup_code"]
    assert code and status["setup_uri"].startswith("X-HM://")
    assert bridge.driver is not None
    device_id = bridge.driver.state.mac

    async def scenario() -> None:
        async with controller() as c:
            pairing = await pair(c, device_id, code)
            assert bridge.paired and bridge.status()["setup_code"] is None
            # pair-setup ran on the hub's full-width SRP (hub/homekit/srp.py)
            assert isinstance(bridge.driver.srp_verifier, FullWidthServer)

            accessories = await pairing.list_accessories_and_characteristics()
            named = by_name(accessories)
            devices = {d.id: d.name for d in hub.devices.info()}
            assert {devices["main"], devices["accent"], devices["diffuser"], "All off"} <= set(
                named
            ), named
            assert {"Swedish massage", "Deep tissue massage", "Hot stone massage"} <= set(named)
            assert {"Cleaning", "Wind-down"} <= set(named)  # not massages: their own names
            # heat is never a bare heater: only lights and switches (and the info services)
            kinds = {s["type"] for a in accessories for s in a["services"]}
            assert kinds <= {INFORMATION, PROTOCOL_INFORMATION, LIGHTBULB, SWITCH}, kinds
            assert devices["pad"] not in named and not any("pad" in n.lower() for n in named)

            # a light to 30 %: the hub's fader takes it there
            brightness = char(named[devices["main"]], LIGHTBULB, BRIGHTNESS)
            light_on = char(named[devices["main"]], LIGHTBULB, ON)
            result = await pairing.put_characteristics([(*light_on, True), (*brightness, 30)])
            assert not result, result  # an empty answer: every write succeeded
            assert hub.state()["devices"]["main"]["fading_to"] == {"level": 0.3}
            hub.advance(2)
            assert hub.state()["devices"]["main"]["level"] == pytest.approx(0.3, abs=1e-3)
            got = await pairing.get_characteristics([brightness, light_on])
            assert got[brightness]["value"] == 30 and got[light_on]["value"] is True

            # "Hey Siri, turn on Swedish massage": a session of its default length
            swedish = char(named["Swedish massage"], SWITCH, ON)
            pushed: list[dict[tuple[int, int], dict[str, Any]]] = []
            pairing.dispatcher_connect(pushed.append)
            await pairing.subscribe([swedish])
            assert not await pairing.put_characteristics([(*swedish, True)])
            session = hub.state()["session"]
            assert session["scene"] == "swedish" and session["source"] == "homekit"
            assert session["minutes"] == hub.scenes.get("swedish").default_minutes

            # a second scene while Swedish runs: refused with an error, nothing changes
            deep = char(named["Deep tissue massage"], SWITCH, ON)
            refused = await pairing.put_characteristics([(*deep, True)])
            assert refused[deep]["status"] != 0, refused
            assert hub.state()["session"]["id"] == session["id"]
            got = await pairing.get_characteristics([deep])
            assert got[deep]["value"] is False

            # the session runs its course; the controller is told when it ends
            def run_until(done: Callable[[dict[str, Any] | None], bool]) -> None:
                for _ in range(2 * 80 * 60):
                    if done(hub.state()["session"]):
                        return
                    hub.advance(0.5)
                raise AssertionError(f"the session never got there: {hub.state()['session']}")

            run_until(lambda s: s is not None and s["phase"] == "fade_out")
            await asyncio.sleep(0.2)

            def told_off() -> bool:
                return any(e.get(swedish, {}).get("value") is False for e in pushed)

            assert not told_off(), pushed  # on while it fades out
            run_until(lambda s: s is None)
            assert hub.sessions.last and hub.sessions.last["end_reason"] == "completed"
            await wait_until(told_off)

            await pairing.remove_pairing(pairing.pairing_data["iOSPairingId"])
            await pairing.close()
        assert not bridge.paired
        assert bridge.status()["setup_code"] == code  # shown again, for the next pairing

    asyncio.run(scenario())


def test_pairing_survives_a_restart_and_reset_pairing_forgets_it(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
) -> None:
    config = homekit_config(make_config)
    hub = make_hub(config)
    first = bridges(hub, config)
    code = first.status()["setup_code"]
    assert first.driver is not None
    device_id = first.driver.state.mac
    folder = config.data_path / "homekit"

    async def scenario() -> None:
        nonlocal first
        async with controller() as c:
            pairing = await pair(c, device_id, code)
            await wait_until(lambda: _paired_on_disk(folder / "accessory.state"))
            assert first.driver is not None
            version = first.driver.state.config_version
            first.stop()
            again = bridges(hub, config)  # a restart: same data_dir
            assert again.driver is not None
            assert again.driver.state.config_version == version  # nothing new to fetch
            assert again.paired and again.status()["setup_code"] is None
            assert again.driver is not None and again.driver.state.mac == device_id
            # the controller's keys still work: it reconnects and reads the accessories
            named = by_name(await pairing.list_accessories_and_characteristics())
            assert "Swedish massage" in named
            again.reset_pairing()
            assert not again.paired
            fresh = again.status()["setup_code"]
            assert fresh and fresh != code  # a new code: whoever saw the old one can't pair
            assert not _paired_on_disk(folder / "accessory.state")
            await pairing.close()

    asyncio.run(scenario())
    for name in ("setup.json", "accessory.state"):
        mode = stat.S_IMODE((folder / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} is readable by others: {oct(mode)}"


def _paired_on_disk(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text())["paired_clients"])
    except (OSError, ValueError):
        return False


def test_the_diffuser_all_off_and_changes_made_elsewhere_reach_the_controller(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
) -> None:
    config = homekit_config(make_config)
    hub = make_hub(config)
    bridge = bridges(hub, config)
    assert bridge.driver is not None
    device_id, code = bridge.driver.state.mac, bridge.status()["setup_code"]
    devices = {d.id: d.name for d in hub.devices.info()}

    async def scenario() -> None:
        async with controller() as c:
            pairing = await pair(c, device_id, code)
            named = by_name(await pairing.list_accessories_and_characteristics())
            accent_on = char(named[devices["accent"]], LIGHTBULB, ON)
            accent_level = char(named[devices["accent"]], LIGHTBULB, BRIGHTNESS)
            diffuser = char(named[devices["diffuser"]], SWITCH, ON)
            all_off = char(named["All off"], SWITCH, ON)
            pushed: list[dict[tuple[int, int], dict[str, Any]]] = []
            pairing.dispatcher_connect(pushed.append)
            await pairing.subscribe([accent_on, accent_level, diffuser, all_off])

            def heard(key: tuple[int, int], value: Any) -> bool:
                return any(e.get(key, {}).get("value") == value for e in pushed)

            # the web (or a routine, or MQTT) dims a light: the controller is told
            hub.devices.set("accent", {"level": 0.5, "fade_seconds": 4})
            await wait_until(lambda: heard(accent_level, 50) and heard(accent_on, True))

            assert not await pairing.put_characteristics([(*diffuser, True)])
            assert hub.state()["devices"]["diffuser"]["mode"] != "off"

            # All off: everything off, and the switch springs back by itself
            assert not await pairing.put_characteristics([(*all_off, True)])
            room = hub.state()["devices"]
            assert room["accent"]["level"] == 0 and room["main"]["level"] == 0
            assert room["diffuser"]["mode"] == "off"
            await wait_until(lambda: heard(accent_on, False) and heard(diffuser, False))
            await wait_until(lambda: heard(all_off, False), timeout=5)
            got = await pairing.get_characteristics([all_off])
            assert got[all_off]["value"] is False
            await pairing.close()

    asyncio.run(scenario())


def test_guessing_the_setup_code_is_locked_out_after_five_wrong_tries(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
) -> None:
    from aiohomekit.exceptions import AuthenticationError, BusyError

    config = homekit_config(make_config)
    hub = make_hub(config)
    bridge = bridges(hub, config)
    assert bridge.driver is not None
    device_id, code = bridge.driver.state.mac, bridge.status()["setup_code"]
    wrong = "111-22-333" if code != "111-22-333" else "111-22-334"

    async def scenario() -> None:
        async with controller() as c:
            for _ in range(5):
                with pytest.raises(AuthenticationError):
                    await pair(c, device_id, wrong)
            with pytest.raises(BusyError):  # the right code, too late: locked out for now
                await pair(c, device_id, code)
        assert not bridge.paired

    asyncio.run(scenario())


def test_a_scene_made_in_the_web_ui_gets_its_switch_and_loses_it_when_deleted(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
) -> None:
    config = homekit_config(make_config)
    hub = make_hub(config)
    bridge = bridges(hub, config)
    assert bridge.driver is not None
    device_id, code = bridge.driver.state.mac, bridge.status()["setup_code"]
    version = bridge.driver.state.config_version

    async def scenario() -> None:
        async with controller() as c:
            pairing = await pair(c, device_id, code)
            assert "Sports massage" not in by_name(
                await pairing.list_accessories_and_characteristics()
            )
            scene = hub.scenes.create(
                {
                    "name": "Sports",
                    "lights": {"*": 0.6},
                    "heat": {"*": "low"},
                    "default_minutes": 30,
                }
            )
            await wait_until(lambda: "Sports massage" in bridge.status()["accessories"])
            assert bridge.driver is not None and bridge.driver.state.config_version > version
            named = by_name(await pairing.list_accessories_and_characteristics())
            sports = char(named["Sports massage"], SWITCH, ON)
            assert not await pairing.put_characteristics([(*sports, True)])
            session = hub.state()["session"]
            assert session["scene"] == scene["id"] and session["minutes"] == 30
            hub.devices.all_off()

            hub.scenes.delete(scene["id"])
            await wait_until(lambda: "Sports massage" not in bridge.status()["accessories"])
            named = by_name(await pairing.list_accessories_and_characteristics())
            assert "Sports massage" not in named and "Swedish massage" in named
            await pairing.close()

    asyncio.run(scenario())


def test_idle_neighbours_and_wrong_codes_from_one_address_do_not_block_the_owner(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    bridges: Callable[[Hub, Config], HomeKitBridge],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A noisy neighbour holds 40 idle connections from ten addresses, and another guesses
    setup codes from 127.0.0.2 until it is locked out; the owner's real controller, from
    127.0.0.1, still pairs."""
    import socket

    import aiohappyeyeballs
    from aiohomekit.exceptions import AuthenticationError, BusyError

    config = homekit_config(make_config)
    hub = make_hub(config)
    bridge = bridges(hub, config)
    assert bridge.driver is not None
    port = config.homekit.port
    device_id, code = bridge.driver.state.mac, bridge.status()["setup_code"]
    wrong = "111-22-333" if code != "111-22-333" else "111-22-334"
    idle = []
    for i in range(40):
        s = socket.socket()
        s.bind((f"127.0.0.{10 + i % 10}", 0))
        s.connect(("127.0.0.1", port))
        idle.append(s)
    # the controller's connections come from this address (another device on the LAN)
    source = {"address": "127.0.0.1"}
    real_start = aiohappyeyeballs.start_connection

    async def from_source(addr_infos: Any, **kwargs: Any) -> Any:
        local = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (source["address"], 0))]
        return await real_start(addr_infos, local_addr_infos=local, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", from_source)

    async def scenario() -> None:
        source["address"] = "127.0.0.2"  # the guesser
        async with controller() as c:
            for _ in range(5):
                with pytest.raises(AuthenticationError):
                    await pair(c, device_id, wrong)
            with pytest.raises(BusyError):  # that address is locked out for now
                await pair(c, device_id, code)
        source["address"] = "127.0.0.1"  # the owner's phone: not locked out
        async with controller() as c:
            pairing = await pair(c, device_id, code)
            accessories = await pairing.list_accessories_and_characteristics()
            assert "All off" in by_name(accessories)
            await pairing.close()

    try:
        asyncio.run(scenario())
    finally:
        for s in idle:
            s.close()
    assert bridge.paired
