"""Bad input corpus (tests/reliability/corpus/): config, HTTP and MQTT.

Every case must get a clear error and leave everything as it was: a bad config names the
file, key and line and creates nothing; a bad HTTP request gets the documented error body
and changes no state, scene, routine or history and emits no event; a bad MQTT command is
logged with its topic and changes no state, pin or event.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config.model import ConfigError, load_config
from tests.reliability.conftest import figure
from tests.rigs.broker import Mosquitto, Observer, have_mosquitto
from tests.rigs.live import Api, LiveHub
from tests.rigs.support import ROOT, SHIPPED, deep_merge, wait_for, write_config

pytestmark = pytest.mark.reliability

CORPUS = Path(__file__).parent / "corpus"


def load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((CORPUS / name).read_text())["cases"]


def without_time(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "time"}


# --- config ---------------------------------------------------------------------------------


def test_bad_configs_name_file_key_and_line(tmp_path: Path) -> None:
    cases = load("config.yaml")
    checked_cli = 0
    for i, case in enumerate(cases):
        folder = tmp_path / f"case{i}"
        if "raw" in case:
            folder.mkdir()
            path = folder / "hub.yaml"
            path.write_text(case["raw"])
        else:
            path = write_config(folder, case["set"])
        before = sorted(p.name for p in folder.iterdir())
        with pytest.raises(ConfigError) as err:
            load_config(path)
        text = str(err.value)
        assert str(path) in text, f"{case['name']}: the error does not name the file: {text}"
        assert case["message"] in text, f"{case['name']}: {text}"
        if "path" in case:
            issue = next((x for x in err.value.issues if x.path == case["path"]), None)
            assert issue is not None, f"{case['name']}: no issue at {case['path']}: {text}"
            assert issue.line, f"{case['name']}: no line number: {text}"
        assert sorted(p.name for p in folder.iterdir()) == before, f"{case['name']}: wrote files"
        if i < 3 or "raw" in case:  # and through the CLI, as a user would see it
            out = subprocess.run(
                [sys.executable, "-m", "hub.cli", "check-config", "--config", str(path)],
                capture_output=True, text=True, cwd=str(ROOT), timeout=60,
            )  # fmt: skip
            assert out.returncode != 0, f"{case['name']}: check-config accepted it"
            assert case["message"] in out.stdout + out.stderr
            checked_cli += 1
    assert yaml.safe_load(SHIPPED.read_text())  # the shipped file is untouched and loads
    figure(
        f"bad input, config: {len(cases)}/{len(cases)} cases refused naming file, key and line "
        f"({checked_cli} also through massage-hub check-config)"
    )


# --- HTTP -----------------------------------------------------------------------------------


def test_bad_http_requests_change_nothing(tmp_path: Path) -> None:
    cases = load("http.yaml")
    hub = LiveHub(tmp_path / "hub").start()
    try:
        api = hub.api
        # something to protect: a user scene, a routine, a finished session, lights on
        assert api.call("POST", "/scenes", {"id": "mine", "name": "Mine"})[0] == 201
        routine = {
            "id": "evening",
            "name": "Evening",
            "schedule": {"kind": "weekly", "days": ["mon"], "time": "21:30"},
            "action": {"kind": "scene", "scene": "swedish"},
        }
        assert api.call("POST", "/routines", routine)[0] == 201
        api.call("POST", "/session", {"scene": "cleaning", "minutes": 5})
        api.call("DELETE", "/session")
        api.call("DELETE", "/session")
        assert api.call("PUT", "/devices/main", {"level": 0.4})[0] == 200

        def snapshot() -> Any:
            return [
                without_time(api.call("GET", "/state")[1]),
                api.call("GET", "/scenes")[1],
                api.call("GET", "/routines")[1],
                api.call("GET", "/history")[1],
            ]

        (sse,) = hub.sse_clients(1)
        before = snapshot()
        for case in cases:
            client = api
            headers = dict(case.get("headers", {}))
            if case.get("auth") == "none":
                client = Api(hub.port, "")
                headers["Authorization"] = ""
            elif case.get("auth") == "bad":
                client = Api(hub.port, "mh_not-a-token")
            if "raw" in case:
                body: bytes | None = case["raw"].encode()
            elif "body" in case:
                body = json.dumps(case["body"]).encode()
            else:
                body = None
            status, data = client.raw(case["method"], "/api/v1" + case["path"], body, headers)
            err = json.loads(data)["error"]
            assert (status, err["code"]) == (case["status"], case["code"]), (case, status, err)
            assert isinstance(err["message"], str) and len(err["message"]) > 5, (case, err)
            assert snapshot() == before, f"{case['name']}: changed something"
        assert sse.seqs == [], f"bad requests emitted events: {sse.seqs}"
        sse.stop()
    finally:
        hub.stop()
    figure(
        f"bad input, HTTP: {len(cases)}/{len(cases)} cases answered with the documented error "
        f"code and a message; state, scenes, routines, history unchanged; 0 events"
    )


# --- MQTT -----------------------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.broker
@pytest.mark.skipif(not have_mosquitto(), reason="mosquitto is not installed")
def test_bad_mqtt_commands_change_nothing(tmp_path: Path) -> None:
    from tests.mqtt.test_mqtt import Rig

    cases = load("mqtt.yaml")
    broker = Mosquitto(tmp_path / "broker").start()
    rig = Rig(tmp_path / "hub", broker.port, mqtt={"node_id": "corpus"})
    records = Records()
    logger = logging.getLogger("hub.mqtt")
    logger.addHandler(records)
    obs = None
    try:
        wait_for(rig.bridge.connected.is_set)
        obs = Observer(broker.port, [f"{rig.base}/#"])
        obs.wait_last(f"{rig.base}/availability", "online")
        rig.hub.devices.set("main", {"level": 0.4})
        rig.hub.devices.set("diffuser", {"mode": "interval"})

        def snapshot() -> Any:
            return (
                without_time(rig.hub.state()),
                {info.name: float(pin.state) for info, pin in rig.factory.pins.items()},
                rig.hub.events.seq,
            )

        before = snapshot()
        for case in cases:
            topic = f"{rig.base}/{case['topic']}"
            if "payload_hex" in case:
                payload: bytes = bytes.fromhex(case["payload_hex"])
            else:
                payload = case["payload"].encode()
            seen = len(records.messages)
            obs.client.publish(topic, payload, qos=1).wait_for_publish(5)
            wait_for(
                lambda t=topic, n=seen: any(t in m for m in records.messages[n:]),
                timeout=5,
            )
            assert snapshot() == before, f"{case}: changed the hub"
        # the bridge still obeys a good command afterwards
        obs.publish(f"{rig.base}/light_main/set", '{"state": "ON", "brightness": 255}')
        wait_for(lambda: rig.pin("main") == 1.0)
    finally:
        logger.removeHandler(records)
        if obs is not None:
            obs.close()
        rig.close()
        broker.stop()
    figure(
        f"bad input, MQTT: {len(cases)}/{len(cases)} bad commands logged with their topic; "
        "state, pins and events unchanged; the next good command obeyed"
    )


def test_corpus_files_are_well_formed() -> None:
    for name in ("config.yaml", "http.yaml", "mqtt.yaml"):
        cases = load(name)
        assert len(cases) >= 10, name
    assert deep_merge({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
