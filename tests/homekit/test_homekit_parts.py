"""Apple Home's parts: the setup code file and URI, names, mDNS interfaces, config and start
errors, and zeroconf loaded from source."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from hub.config.model import Config
from hub.core import Hub
from hub.homekit import homekit_component
from hub.homekit.accessories import hap_name, stable_aid
from hub.homekit.network import mdns_interfaces
from hub.homekit.setup_code import FORBIDDEN, SetupCode, load_or_create
from hub.scenes.scene import spoken_name
from tests.rigs.support import free_port, run_cli, wait_for, write_config


def test_the_setup_uri_carries_the_category_the_ip_flag_the_code_and_the_setup_id() -> None:
    setup = SetupCode("031-45-154", "7OSX")
    uri = setup.uri()
    assert uri.startswith("X-HM://") and uri.endswith("7OSX") and len(uri) == 20
    payload = int(uri[7:16], 36)  # decoded with Python's own base 36
    assert payload & 0x7FFFFFF == 3145154  # the code
    assert (payload >> 27) & 0xF == 2  # paired over IP
    assert (payload >> 31) & 0xFF == 2  # a bridge
    assert payload >> 39 == 0  # version 0, reserved bits 0


def test_new_codes_are_well_formed_and_never_a_forbidden_one() -> None:
    codes = {SetupCode.new() for _ in range(300)}
    assert len(codes) > 290  # random, not one fixed code
    for setup in codes:
        assert len(setup.code) == 10 and setup.code[3] == "-" and setup.code[6] == "-"
        assert setup.code.replace("-", "") not in FORBIDDEN
        assert len(setup.setup_id) == 4 and setup.setup_id.isalnum()


def test_the_setup_code_is_kept_and_a_damaged_file_is_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "homekit" / "setup.json"
    first = load_or_create(path)
    assert load_or_create(path) == first
    assert path.stat().st_mode & 0o077 == 0
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        second = load_or_create(path)
    assert "making a new setup code" in caplog.text
    assert second != first and json.loads(path.read_text())["code"] == second.code


def test_names_apple_home_accepts() -> None:
    assert hap_name("Anna's room, 2nd-floor") == "Anna's room, 2nd-floor"
    assert hap_name("Hot stone (90')!") == "Hot stone 90"  # ends with a letter or digit
    assert hap_name("***") == "Massage hub"
    warm = {"*": "medium"}
    assert spoken_name({"name": "Swedish", "heat": warm}) == "Swedish massage"
    assert spoken_name({"name": "Sports  massage", "heat": warm}) == "Sports massage"
    assert spoken_name({"name": "Cleaning", "heat": {"*": "off"}}) == "Cleaning"
    assert spoken_name({"name": "Wind-down", "heat": {}}) == "Wind-down"


def test_accessory_ids_are_stable_and_distinct() -> None:
    taken: set[int] = set()
    a = stable_aid("scene", "swedish", taken)
    assert a == stable_aid("scene", "swedish", set())  # the same at every start
    assert stable_aid("scene", "swedish", taken) != a  # taken: the next free one
    assert all(2 <= aid < 2**31 for aid in taken)


def test_zeroconf_loads_from_its_python_source_not_its_compiled_modules() -> None:
    # in a fresh interpreter: this one may have imported zeroconf before hub.homekit
    code = (
        "import hub.homekit, zeroconf.asyncio, sys; "
        "print([n for n, m in sys.modules.items() if n.startswith('zeroconf') "
        "and not getattr(m, '__file__', '').endswith('.py')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    # and nothing else changes: importlib.metadata sees each installed package once
    code = (
        "import importlib.metadata as m; n = len(list(m.distributions())); "
        "import hub.homekit; print(n, len(list(m.distributions())))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert before == after, out.stdout


def test_mdns_interfaces_all_by_default_addresses_and_names() -> None:
    from zeroconf import InterfaceChoice

    assert mdns_interfaces([]) is InterfaceChoice.All
    assert mdns_interfaces(["127.0.0.1"]) == ["127.0.0.1"]
    assert mdns_interfaces(["lo"]) == ["127.0.0.1"]
    with pytest.raises(RuntimeError, match="no network interface called 'wlan9'.*lo"):
        mdns_interfaces(["wlan9"])
    with pytest.raises(RuntimeError, match="IPv6"):
        mdns_interfaces(["::1"])


def test_a_port_in_use_is_said_in_plain_words(
    make_config: Callable[..., Config], make_hub: Callable[..., Hub]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = make_config(
            {
                "homekit": {
                    "enabled": True,
                    "port": port,
                    "address": "127.0.0.1",
                    "interfaces": ["127.0.0.1"],
                }
            }
        )
        bridge = homekit_component(SimpleNamespace(hub=make_hub(config), config=config))
        assert bridge is not None
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1 port {port}"):
            bridge.start()
        assert bridge.status()["running"] is False


@pytest.mark.parametrize(
    ("homekit", "words"),
    [
        ({"port": 0}, "homekit.port"),
        ({"name": "Room_1!"}, "use letters, digits, spaces"),
        ({"address": "my-pi.local"}, "is not an IP address"),
        ({"interfaces": ["eth0; rm -rf"]}, "is not an IP address or an interface name"),
        ({"enable": True}, "enabled"),  # a typo: "did you mean"
        ({"fade_seconds": 600}, "homekit.fade_seconds"),
    ],
)
def test_bad_homekit_config_is_refused_with_the_key_and_plain_words(
    tmp_path: Path, homekit: dict[str, object], words: str
) -> None:
    path = write_config(tmp_path / "c", {"homekit": homekit})
    out = run_cli(path, "check-config")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "homekit" in text and words in text, text


def test_the_shipped_config_keeps_apple_home_off(tmp_path: Path) -> None:
    out = run_cli(write_config(tmp_path / "c", {"homekit": {"port": free_port()}}), "check-config")
    assert out.returncode == 0, out.stdout + out.stderr


def test_connections_from_the_lan_are_bounded(
    make_config: Callable[..., Config],
    make_hub: Callable[..., Hub],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per address, and in all: a full server closes the unverified one idle longest."""
    from hub.homekit import server

    monkeypatch.setattr(server, "MAX_CONNECTIONS", 3)
    monkeypatch.setattr(server, "MAX_PER_ADDRESS", 2)
    port = free_port()
    config = make_config(
        {
            "homekit": {
                "enabled": True,
                "port": port,
                "address": "127.0.0.1",
                "interfaces": ["127.0.0.1"],
            }
        }
    )
    bridge = homekit_component(SimpleNamespace(hub=make_hub(config), config=config))
    assert bridge is not None
    bridge.start()
    held: list[socket.socket] = []

    def connect(source: str) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        held.append(s)
        return s

    def open_now() -> int:
        return len(bridge.driver.http_server.connections)  # type: ignore[union-attr]

    try:
        oldest = connect("127.0.0.2")
        wait_for(lambda: open_now() == 1)
        connect("127.0.0.2")
        wait_for(lambda: open_now() == 2)
        assert _closed_by_peer(connect("127.0.0.2")), "a third from one address was kept"
        connect("127.0.0.3")
        wait_for(lambda: open_now() == 3)
        newest = connect("127.0.0.4")  # full: the one idle longest makes room
        assert _closed_by_peer(oldest), "the oldest idle connection was kept"
        newest.settimeout(0.5)
        with pytest.raises(TimeoutError):
            newest.recv(1)  # kept open: waiting for a request
        assert open_now() == 3
    finally:
        for s in held:
            s.close()
        bridge.stop()


def _closed_by_peer(s: socket.socket) -> bool:
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_without_a_default_route_the_first_lan_address_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ifaddr
    import pyhap.util

    from hub.homekit.network import local_address

    def no_route() -> str:
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(pyhap.util, "get_local_address", no_route)
    adapters = [
        ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")]),
        ifaddr.Adapter("eth0", "eth0", [ifaddr.IP(("fe80::1", 0, 2), 64, "eth0")]),
        ifaddr.Adapter("wlan0", "wlan0", [ifaddr.IP("192.168.1.20", 24, "wlan0")]),
    ]
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters)
    assert local_address() == "192.168.1.20"
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters[:2])
    with pytest.raises(RuntimeError, match="set homekit.address"):
        local_address()


def test_the_hub_runs_without_apple_home_while_its_port_is_taken_and_tries_again(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One adapter failing never takes the hub down: it says why, and starts once it can."""
    from hardware import SilentSpeaker
    from hardware.pins import SimFactory
    from hub import service as service_module
    from hub.service import build_service

    monkeypatch.setattr(service_module, "RETRY_SECONDS", 0.5)
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    config = make_config(
        {
            "homekit": {
                "enabled": True,
                "port": port,
                "address": "127.0.0.1",
                "interfaces": ["127.0.0.1"],
            }
        }
    )
    service = build_service(config, pin_factory=SimFactory(), speaker=SilentSpeaker(), mirror=False)
    try:
        service.start()  # no exception: the hub runs
        assert service.ready.is_set()
        why = service.problems["homekit"]
        assert f"cannot listen on 127.0.0.1 port {port}" in why and "trying again" in why
        assert service.health()["problems"]["homekit"] == why
        assert service.hub.state()["problems"]["homekit"] == why
        service.hub.devices.all_off()  # and it answers
        busy.close()
        try:
            wait_for(lambda: "homekit" not in service.problems, timeout=20)
        except AssertionError:
            raise AssertionError(service.problems) from None
        assert service.homekit.status()["running"] is True
        assert "problems" not in service.health()
    finally:
        busy.close()
        service.stop()
