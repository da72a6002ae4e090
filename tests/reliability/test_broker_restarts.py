"""Mosquitto restarted again and again while the hub is in use (20 times on a full run).

Each round kills the broker (SIGKILL and clean stops in turn), drives the hub while the
broker is away, starts an empty broker on the same port, and checks that the hub
reconnects, re-announces (discovery and availability) and obeys the next MQTT command.
Builds on tests/rigs/broker.py and the Rig of tests/mqtt/test_mqtt.py.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from tests.mqtt.test_mqtt import N_CONFIGS, Rig, configs
from tests.reliability.conftest import figure, scale
from tests.rigs.broker import Mosquitto, Observer, have_mosquitto
from tests.rigs.support import wait_for

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.broker,
    pytest.mark.skipif(not have_mosquitto(), reason="mosquitto is not installed"),
]


@pytest.mark.timeout(scale(120, 900))
def test_broker_restarts(tmp_path: Path) -> None:
    rounds = scale(3, 20)
    broker = Mosquitto(tmp_path / "broker").start()
    rig = Rig(tmp_path / "hub", broker.port, mqtt={"node_id": "restarts"})
    ok = 0
    reconnect: list[float] = []
    try:
        wait_for(rig.bridge.connected.is_set)
        wait_for(lambda: rig.bridge.announcements >= 1)
        for i in range(rounds):
            announced = rig.bridge.announcements
            if i % 2:
                broker.stop()
            else:
                broker.kill()
            wait_for(lambda: not rig.bridge.connected.is_set())
            # the hub keeps working without the broker
            level = 0.2 + 0.05 * (i % 10)
            rig.hub.devices.set("accent", {"level": level})
            assert rig.pin("accent") > 0
            t0 = time.monotonic()
            broker.start()  # same port, empty broker: nothing retained survives
            obs = Observer(broker.port, ["homeassistant/#", "massagehub/#"])
            try:
                wait_for(rig.bridge.connected.is_set, timeout=15)
                reconnect.append(time.monotonic() - t0)
                obs.wait_last(f"{rig.base}/availability", "online", timeout=10)
                wait_for(lambda o=obs: len(configs(o)) >= N_CONFIGS, timeout=10)
                assert rig.bridge.announcements > announced
                brightness = 100 + i
                obs.publish(
                    f"{rig.base}/light_main/set",
                    f'{{"state": "ON", "brightness": {brightness}}}',
                )
                wait_for(
                    lambda b=brightness: (
                        rig.hub.state()["devices"]["main"]["level"]
                        == pytest.approx(b / 255, abs=1e-3)
                    ),
                    timeout=10,
                )
                obs.wait_last(
                    f"{rig.base}/light_main/state",
                    f'{{"brightness": {brightness}, "color_mode": "brightness", "state": "ON"}}',
                )
            finally:
                obs.close()
            ok += 1
    finally:
        rig.close()
        broker.stop()
    figure(
        f"broker restarts: {ok}/{rounds} reconnected, re-announced and obeyed the next command "
        f"(reconnect after broker start: median {statistics.median(reconnect):.2f} s, "
        f"max {max(reconnect):.2f} s)"
    )
    assert ok == rounds
