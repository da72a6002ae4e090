"""Other libraries' insides the hub relies on, pinned so that an upgrade fails here, loudly.

Where a library gives no public way to do what the hub needs (docs/ARCHITECTURE.md, "Other
libraries' insides we rely on", says which and why), the hub subclasses it or reads a private
name. Each test below pins what that code takes for granted: the version range it was checked
against, that the names exist with the signature used, a copied method's source (by hash),
and a small behaviour. A failure names the module of ours to re-check against the new version;
when it still holds, update the pin here.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import socket
from importlib.metadata import version
from typing import Any

import pytest


def _release(package: str) -> tuple[int, ...]:
    """Return the release numbers of an installed package (2.0.1.post3 -> (2, 0, 1))."""
    parts = []
    for part in version(package).split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _checked(package: str, low: tuple[int, ...], high: tuple[int, ...], recheck: str) -> None:
    """Fail unless ``package`` is at least ``low`` and below ``high`` (the range checked)."""
    got = _release(package)
    assert low <= got < high, (
        f"{package} {version(package)} is outside the range checked "
        f"({'.'.join(map(str, low))} to below {'.'.join(map(str, high))}): re-check {recheck}, "
        "then widen the range in tests/system/test_library_contracts.py"
    )


def _source_hash(func: Any) -> str:
    return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()[:16]


def _same_source(func: Any, pinned: str, recheck: str) -> None:
    got = _source_hash(func)
    assert got == pinned, (
        f"{func.__module__}.{func.__qualname__} changed upstream (source hash {got}, pinned "
        f"{pinned}): re-check {recheck}, then pin the new hash"
    )


def _has(obj: Any, names: str, recheck: str) -> None:
    missing = [n for n in names.split() if not hasattr(obj, n)]
    assert not missing, f"{obj!r} lost {', '.join(missing)}: re-check {recheck}"


# --- waitress: web/gate.py, web/channel.py, web/server.py ----------------------------------

GATE = "web/gate.py (GuardedServer)"
CHANNEL = "web/channel.py (GuardedChannel)"


def test_waitress_is_a_version_the_web_guards_were_checked_against() -> None:
    _checked("waitress", (3, 0), (3, 1), f"{GATE} and {CHANNEL}")


def test_waitress_methods_the_guards_replace_are_unchanged() -> None:
    """The gate and the channel replace these whole; a change upstream may be a fix to copy."""
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer

    _same_source(
        HTTPChannel.received,
        "08d6df73fb69da84",
        f"{CHANNEL}.received, a copy of it with one change (the pending bytes)",
    )
    _same_source(
        TcpWSGIServer.handle_accept, "69bfcf0fc140592a", f"{GATE}.handle_accept, which replaces it"
    )
    _same_source(TcpWSGIServer.readable, "4eea9c1036b55b41", f"{GATE}.readable, which replaces it")


def test_waitress_names_the_guards_use_exist() -> None:
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, WSGITask

    _has(
        TcpWSGIServer,
        "accept set_socket_options fix_addr maintenance add_task channel_class "
        "handle_accept readable",
        GATE,
    )
    _has(
        HTTPChannel,
        "received readable writable handle_write handle_close del_channel send_continue "
        "parser_class task_class error_task_class total_outbufs_len",
        CHANNEL,
    )
    _has(HTTPRequestParser, "received", f"{CHANNEL} (TimedParser)")
    _has(WSGITask, "get_environment", f"{CHANNEL} (BacklogTask)")
    _has(ErrorTask, "execute set_close_on_finish write", "web/server.py (JsonErrorTask)")
    assert list(inspect.signature(HTTPRequestParser.__init__).parameters) == ["self", "adj"], (
        f"HTTPRequestParser(adj) changed: re-check {CHANNEL} (TimedParser)"
    )
    # how web/server.py stops the server: no public way to close every connection
    from waitress import wasyncore

    assert list(inspect.signature(wasyncore.close_all).parameters)[:1] == ["map"], (
        "waitress.wasyncore.close_all(map) changed: re-check web/server.py (WebComponent.stop)"
    )


def test_a_waitress_connection_has_the_state_the_guards_read() -> None:
    """A real server and one real connection: the attributes read by the gate's checks."""
    from web.server import create_server

    class Web:
        host, port, threads = "127.0.0.1", 0, 1
        connections_per_client, header_timeout_seconds = 4, 10.0

    server = create_server(lambda environ, start: [], Web())
    client = socket.create_connection(server.socket.getsockname()[:2])
    try:
        server.handle_accept()
        (channel,) = server.active_channels.values()
        # the map handed to waitress is the one it keeps its sockets in (web/server.py stops
        # the server by closing everything in it)
        assert server.socket_map[channel.socket.fileno()] is channel, (
            f"waitress no longer keeps its sockets in the map it is given: re-check {GATE}"
        )
        assert server.socket.fileno() in server.socket_map
        for name, kind in [
            ("requests", list),
            ("request", type(None)),
            ("will_close", bool),
            ("close_when_flushed", bool),
            ("sent_continue", bool),
            ("total_outbufs_len", int),
            ("last_activity", float),
            ("connected", bool),
        ]:
            assert isinstance(getattr(channel, name, None), kind), (
                f"a waitress channel's {name} is not a {kind.__name__}: re-check {CHANNEL}"
            )
        for lock in ("requests_lock", "outbuf_lock"):
            assert hasattr(getattr(channel, lock, None), "acquire"), (
                f"a waitress channel has no {lock}: re-check {CHANNEL}"
            )
        assert isinstance(server.next_channel_cleanup, int | float), (
            f"waitress's server has no next_channel_cleanup: re-check {GATE}.readable"
        )
        assert server.adj.connection_limit > 0 and server.adj.cleanup_interval == 1
        for name in ("trigger", "task_dispatcher"):  # web/server.py stops the server by them
            assert hasattr(server, name), f"waitress's server has no {name}: re-check web/server.py"
    finally:
        client.close()
        server.close()
        for ch in list(server.socket_map.values()):
            ch.close()


# --- gpiozero: hardware/pins.py (SimPin), hub/room/direct.py -------------------------------------


def test_gpiozero_is_a_version_the_sim_pins_were_checked_against() -> None:
    _checked(
        "gpiozero",
        (2, 0),
        (2, 1),
        "hardware/pins.py (SimPin, HEADER) and hub/room/direct.py (_open_chip)",
    )


def test_every_mock_pin_change_goes_through_change_state() -> None:
    """SimPin reports changes from MockPin._change_state(value) -> bool (no public hook)."""
    from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

    recheck = "hardware/pins.py (SimPin._change_state, SimPin.clear_states)"
    _same_source(MockPin._change_state, "5791373ea246b989", recheck)
    assert list(inspect.signature(MockPin._change_state).parameters) == ["self", "value"]
    seen: list[tuple[float, bool]] = []

    class Watched(MockPWMPin):
        def _change_state(self, value: Any) -> bool:
            changed = super()._change_state(value)
            seen.append((float(value), changed))
            return bool(changed)

    factory = MockFactory(pin_class=Watched)
    pin = factory.pin(18)
    pin.function = "output"
    pin.frequency = 100
    pin.state = 0.5
    pin.state = 0.5
    pin.frequency = None  # PWM off drops the level to 0 through the same path
    assert seen[-3:] == [(0.5, True), (0.5, False), (0.0, True)], (
        f"gpiozero's mock pins changed how a level change is made ({seen}): re-check {recheck}"
    )
    for name in ("_state", "_last_change"):  # SimPin.clear_states sets them
        assert hasattr(pin, name), f"MockPin has no {name}: re-check {recheck}"
    factory.close()


def test_gpiozero_lgpio_factory_keeps_its_chip_handle() -> None:
    """hub/room/direct.py claims lines on the chip gpiozero would open (Pi 5: gpiochip4)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("gpiozero.pins.lgpio")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()  # read, not imported: lgpio exists only on a Pi
    assert "self._handle = lgpio.gpiochip_open(chip)" in source, (
        "gpiozero's LGPIOFactory no longer keeps its chip handle in _handle: re-check "
        "hub/room/direct.py (_open_chip)"
    )


def test_gpiozero_maps_header_pins_alike_on_every_40_pin_pi() -> None:
    """hardware/pins.py maps BOARDn with one board's header; every 40-pin Pi has the same."""
    from gpiozero import pi_info

    from hardware.pins import HEADER

    def board_map(info: Any) -> dict[int, str]:
        out = {}
        for n in range(1, 41):
            try:
                out[n] = info.to_gpio(f"BOARD{n}")
            except Exception:  # power, ground
                continue
        return out

    ours = board_map(HEADER)
    assert len(ours) == 28 and ours[12] == "GPIO18" and ours[40] == "GPIO21"
    models = {  # revision codes of the 40-pin boards the hub runs on
        "Zero W": "9000c1",
        "Zero 2 W": "902120",
        "3B": "a02082",
        "3B+": "a020d3",
        "4B": "c03111",
        "400": "c03130",
        "5B": "c04170",
        "CM4": "a03140",
    }
    for model, revision in models.items():
        assert board_map(pi_info(revision)) == ours, (
            f"gpiozero maps the header of a Pi {model} differently: re-check hardware/pins.py"
        )


# --- HAP-python: hub/homekit/srp.py, hub/homekit/server.py ---------------------------------

SRP = "hub/homekit/srp.py (FullWidthServer, HubDriver)"


def test_hap_python_is_a_version_the_pairing_fix_was_checked_against() -> None:
    pytest.importorskip("pyhap")
    _checked("HAP-python", (5, 2), (5, 3), f"{SRP} and hub/homekit/server.py")


def test_hap_python_srp_server_insides_used_by_the_full_width_fix() -> None:
    pytest.importorskip("pyhap")
    import pyhap.hap_handler
    from pyhap.accessory_driver import AccessoryDriver
    from pyhap.hsrp import Server
    from pyhap.util import long_to_bytes

    from hub.homekit.srp import FullWidthKey

    for name, params in [
        ("_derive_B", ["self"]),
        ("_padN", ["self", "bytestr"]),
        ("_digest", ["self", "data"]),
        ("_get_M", ["self"]),
        ("_get_HAMK", ["self"]),
        ("set_A", ["self", "bytes_A"]),
    ]:
        method = getattr(Server, name, None)
        assert method is not None and list(inspect.signature(method).parameters) == params, (
            f"pyhap.hsrp.Server.{name}{params} changed: re-check {SRP}"
        )
    assert len(long_to_bytes(FullWidthKey(1))) == 64, (
        f"pyhap.util.long_to_bytes no longer sizes a key by bit_length(): re-check {SRP}"
    )
    # the driver's hooks: the handler makes the verifier, reads it, and reports wrong codes
    handler = inspect.getsource(pyhap.hap_handler)
    for call in (
        "accessory_handler.setup_srp_verifier()",
        "accessory_handler.srp_verifier",
        "accessory_handler.register_failed_pairing_attempt()",
        "accessory_handler.pairing_locked_out",
    ):
        assert call in handler, f"HAP-python's pair-setup no longer uses {call}: re-check {SRP}"
    _has(
        AccessoryDriver,
        "setup_srp_verifier srp_verifier register_failed_pairing_attempt pairing_locked_out",
        SRP,
    )


def test_hap_python_server_start_we_replace_is_unchanged() -> None:
    pytest.importorskip("pyhap")
    from pyhap.hap_protocol import HAPServerProtocol
    from pyhap.hap_server import HAPServer

    recheck = "hub/homekit/server.py (BoundedHAPServer.async_start, BoundedProtocol)"
    _same_source(HAPServer.async_start, "08975a94a2ca3a6c", recheck)
    assert list(inspect.signature(HAPServerProtocol.__init__).parameters)[:4] == [
        "self",
        "loop",
        "connections",
        "accessory_driver",
    ], f"HAPServerProtocol's constructor changed: re-check {recheck}"
    _has(HAPServer, "async_cleanup_connections", recheck)

    async def made() -> Any:
        return HAPServerProtocol(asyncio.get_running_loop(), {}, object())

    protocol = asyncio.run(made())
    _has(  # what BoundedProtocol reads of its own and the other connections
        protocol,
        "connections peername hap_crypto last_activity transport loop close",
        recheck,
    )


# --- spectree: web/openapi.py --------------------------------------------------------------


def test_spectree_plugin_methods_the_description_overrides() -> None:
    """DescribeOnly overrides the Flask plugin's validate and parse_path (the plugin API)."""
    _checked("spectree", (3, 0), (3, 1), "web/openapi.py (DescribeOnly)")
    from flask import Flask
    from spectree.plugins.flask_plugin import FlaskPlugin

    assert list(inspect.signature(FlaskPlugin.parse_path).parameters) == [
        "self",
        "route",
        "path_parameter_descriptions",
    ], "spectree's parse_path changed: re-check web/openapi.py (DescribeOnly.parse_path)"
    assert "func" in inspect.signature(FlaskPlugin.validate).parameters
    app = Flask(__name__)
    app.add_url_rule("/api/v1/x/<int:n>", "x", lambda n: "")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "x")
    from spectree import SpecTree

    path, params = SpecTree(backend=FlaskPlugin).backend.parse_path(rule, None)
    assert path == "/api/v1/x/{n}" and params[0]["schema"].get("format") == "int32", (
        f"spectree describes <int:n> differently ({path}, {params}): "
        "re-check web/openapi.py (DescribeOnly.parse_path)"
    )
