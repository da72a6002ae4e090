"""The real GPIO path on a real kernel: lgpio -> gpiozero -> the hub, on a simulated chip.

One qemu guest (tests/rigs/pi_rig.py) serves every test here: a Debian 6.12 kernel with gpio-sim
as ``/dev/gpiochip0`` (lines GPIO0-53, as on a Pi) and the lights' sysfs PWM (pwm-gpio on a
gpio-mockup line) as ``/sys/class/pwm/pwmchip0``. The hub runs with ``backend: gpio``.
Edges are the kernel's own ``gpio_value`` trace events.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest

from tests.rigs.pi_rig import Guest, RigError, boot, missing_host_tools

# the first test also pays for the boot, or for the build when setup.sh could not make it
pytestmark = [pytest.mark.pi_rig, pytest.mark.timeout(1800)]

PERIOD = 1_250_000  # 800 Hz in nanoseconds


@pytest.fixture(scope="module")
def guest() -> Iterator[Guest]:
    if os.geteuid() != 0:
        pytest.skip("the pi_rig guest is built as root (debootstrap, chroot)")
    missing = missing_host_tools()
    if missing:
        pytest.fail(f"the pi_rig tier needs {', '.join(missing)}: run ./setup.sh --test")
    with boot() as g:
        yield g


def run(guest: Guest, code: str, timeout: float = 180) -> dict:
    """Run ``code`` in the guest after the rig tools are imported; return what it emitted."""
    prelude = "import sys, time, json\nsys.path.insert(0, '/opt/hub/tests/pi_rig_guest')\n"
    prelude += "from rig_tools import *\nfrom pathlib import Path\n"
    out = guest.py(prelude + code, timeout=timeout)
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RigError(f"the guest script emitted nothing:\n{out[-3000:]}")


HUB = """
from hub.config.model import load_config
from hub.core import Hub
from hardware import SilentSpeaker
import shutil
shutil.rmtree('/tmp/hubcfg', ignore_errors=True)
cfg = write_config(Path('/tmp/hubcfg/hub.yaml'), {overrides})
hub = Hub(load_config(cfg), speaker=SilentSpeaker())
hub.start()
"""


def hub_code(overrides: str = "") -> str:
    return HUB.replace("{overrides}", overrides)


def test_relays_and_heat_duty_follow_the_hub(guest: Guest) -> None:
    code = (
        hub_code("heat_pads={'pad': {'cycle_seconds': 10, 'min_switch_seconds': 1}}")
        + """
start = values()
trace_start()
t0 = time.monotonic()
hub.devices.set('diffuser', {'mode': 'on'}); time.sleep(0.5)
on_d = value(23)
hub.devices.set('diffuser', {'mode': 'off'}); time.sleep(0.5)
off_d = value(23)
trace_start()
hub.devices.set('pad', {'heat': 'low'})
time.sleep(21)
hub.devices.set('pad', {'heat': 'off'}); time.sleep(0.3)
pad = trace_stop(24)
hub.close()
emit({'start': start, 'on_d': on_d, 'off_d': off_d, 'pad': pad, 'after': values(),
      'warnings': hub.warnings, 'backend': hub.backend})
"""
    )
    r = run(guest, code)
    assert r["backend"] == "gpio"
    assert r["start"] == {"13": 0, "18": 0, "23": 0, "24": 0}
    assert (r["on_d"], r["off_d"]) == (1, 0)
    edges = r["pad"]
    rises = [t for t, v in edges if v == 1]
    falls = [t for t, v in edges if v == 0]
    assert len(rises) >= 2, edges  # two 10 s cycles at "low": on 3 s, off 7 s
    highs = [f - r_ for r_, f in zip(rises, [f for f in falls if f > rises[0]], strict=False)]
    cycles = [b - a for a, b in zip(rises, rises[1:], strict=False)]
    print("pad high s", highs, "cycle s", cycles)
    # the two whole cycles (the third is cut short by "off" at 21 s): low = 30 % of 10 s
    assert all(2.5 < h < 3.5 for h in highs[:2]), highs
    assert all(9.5 < c < 10.5 for c in cycles[:2]), cycles
    assert edges[-1][1] == 0
    assert r["after"] == {"13": 0, "18": 0, "23": 0, "24": 0}
    # the accent light (GPIO13) has no second channel on the rig: software PWM, said loudly
    assert any("'accent' dims in software" in w for w in r["warnings"])


def test_the_wall_button_starts_and_holds(guest: Guest) -> None:
    code = (
        hub_code()
        + """
time.sleep(0.3)
pull(25, up=False); time.sleep(0.3); pull(25, up=True)
deadline = time.monotonic() + 10
while hub.state()['session'] is None and time.monotonic() < deadline:
    time.sleep(0.1)
started = hub.state()['session']
pull(25, up=False); time.sleep(3.5); pull(25, up=True)   # hold_seconds is 2
time.sleep(1)
after = hub.state()
emit({'started': started is not None, 'source': (started or {}).get('source'),
      'after_session': after['session'], 'pins': values()})
hub.close()
"""
    )
    r = run(guest, code)
    assert r["started"], "a press on GPIO25 did not start a session"
    running = r["after_session"]
    assert running is None or running.get("phase") in ("ended", "stopped", None), running
    assert r["pins"] == {"13": 0, "18": 0, "23": 0, "24": 0}


def test_every_way_of_stopping_leaves_every_output_off(guest: Guest) -> None:
    code = """
import os, signal, subprocess
sys.path.insert(0, '/opt/hub')
from tests.rigs.service_api import api, create_token
from tests.rigs.support import free_port
results = {}
port = free_port()
cfg = write_config(Path('/tmp/svc/hub.yaml'), web={'host': '127.0.0.1', 'port': port})
token = create_token(cfg)
base = f'http://127.0.0.1:{port}/api/v1'
MH = '/opt/venv/bin/massage-hub'

started = []

def serve():
    p = subprocess.Popen([MH, 'serve', '--config', str(cfg)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    started.append(p)
    # generous: under TCG on a busy 2-core host a start-up has taken over a minute
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if api(base, 'GET', '/state', token=token)[0] == 200:
                return p
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError('serve did not come up')

def everything_on():
    api(base, 'PUT', '/devices/pad', {'heat': 'high'}, token=token)
    api(base, 'PUT', '/devices/diffuser', {'mode': 'on'}, token=token)
    api(base, 'PUT', '/devices/main', {'level': 0.8}, token=token)
    api(base, 'PUT', '/devices/accent', {'level': 1.0}, token=token)
    time.sleep(0.5)
    return {**values(), 'pwm': pwm_state().get('duty_cycle')}

try:
    p = serve()
    results['on'] = everything_on()
    api(base, 'POST', '/all-off', {}, token=token); time.sleep(0.5)
    results['all_off'] = {**values(), 'pwm': pwm_state().get('duty_cycle')}
    everything_on()
    p.send_signal(signal.SIGTERM); p.wait(120)
    results['sigterm'] = {**values(), 'pwm': pwm_state()}
    p = serve()
    results['on2'] = everything_on()
    p.kill(); p.wait(30)
    results['kill9'] = values()
    direct = subprocess.run([MH, 'all-off', '--direct', '--config', str(cfg)], capture_output=True, text=True)
    results['direct_rc'] = direct.returncode
    results['direct_out'] = direct.stdout + direct.stderr
    results['direct'] = {**values(), 'pwm': pwm_state()}
finally:
    for q in started:  # a failure must not leave a service holding the lines
        if q.poll() is None:
            q.kill()
            q.wait(30)
emit(results)
"""
    r = run(guest, code, timeout=900)
    off = {"13": 0, "18": 0, "23": 0, "24": 0}
    assert r["on"]["24"] == 1 and r["on"]["23"] == 1 and r["on"]["pwm"] > 0, r["on"]
    assert {k: r["all_off"][k] for k in off} == off and r["all_off"]["pwm"] == 0
    assert {k: r["sigterm"][k] for k in off} == off
    assert r["sigterm"]["pwm"] == {"exported": False}  # off, disabled and unexported
    assert r["on2"]["24"] == 1
    # a killed process's lines are released; gpio-sim returns them to their pull (off),
    # as a Pi does with dtparam=strict_gpiod (which the installer sets)
    assert r["kill9"] == off
    assert r["direct_rc"] == 0, r["direct_out"]
    assert {k: r["direct"][k] for k in off} == off
    assert r["direct"]["pwm"].get("duty_cycle", 0) == 0


def test_the_lights_sysfs_pwm_gets_the_duty_the_hub_means(guest: Guest) -> None:
    code = (
        hub_code()
        + """
light = hub.room.lights['main']
rows = []
for level in (0.01, 0.05, 0.1, 0.12, 0.3, 0.5, 1.0):
    hub.devices.set('main', {'level': level}); time.sleep(0.3)
    rows.append({'level': level, 'want': round(light.duty_for(level) * 1250000), **pwm_state()})
hub.devices.set('main', {'level': 0.01}); time.sleep(0.3)
trace_start(); time.sleep(1.0); edges = trace_stop(0, 'gpio-mockup')
highs = [b[0] - a[0] for a, b in zip(edges, edges[1:]) if a[1] == 1 and b[1] == 0]
hub.devices.set('main', {'level': 0}); time.sleep(0.3)
# the accent light (GPIO13) has no channel on the rig: lgpio's software PWM, whole percent
hub.devices.set('accent', {'level': 0.01}); time.sleep(0.3)
trace_start(); time.sleep(1.0); accent = trace_stop(13)
accent_value = hub.room.lights['accent']._led.value
hub.devices.set('accent', {'level': 0}); time.sleep(0.3)
seen = [pwm_state().get('duty_cycle')]  # before the fade: the light is off
import threading
stop = threading.Event()
def sample():
    while not stop.is_set():
        d = pwm_state().get('duty_cycle')
        if not seen or seen[-1] != d:
            seen.append(d)
        time.sleep(0.005)
th = threading.Thread(target=sample); th.start()
hub.devices.set('main', {'level': 1.0, 'fade_seconds': 4}); time.sleep(5)
stop.set(); th.join()
hub.close()
fade_levels = [light.level_for(d / 1250000) for d in seen if d]
on_curve = all(abs(round(light.duty_for(max(v, 1e-12)) * 1250000) - d) <= 1 for v, d in zip(fade_levels, [d for d in seen if d]))
emit({'rows': rows, 'highs_us': sorted(h * 1e6 for h in highs), 'fade': seen,
      'fade_levels': fade_levels, 'on_curve': on_curve,
      'closed': pwm_state(), 'accent_rises': sum(1 for _, v in accent if v == 1),
      'accent_value': accent_value})
"""
    )
    r = run(guest, code)
    for row in r["rows"]:
        assert row["exported"] and row["enable"] == 1 and row["period"] == PERIOD, row
        assert row["duty_cycle"] == row["want"], row
    low = r["rows"][0]
    assert low["duty_cycle"] == 5050  # 0.404 % of 1,250,000 ns: a faint glow, not dark
    assert r["rows"][-1]["duty_cycle"] == PERIOD
    highs = r["highs_us"]
    print(f"level 0.01: {len(highs)} pulses in 1 s, high time p50 {highs[len(highs) // 2]:.1f} us")
    assert len(highs) >= 50  # pulses at 800 Hz, not a dark line
    fade = r["fade"]
    assert fade[0] == 0 and fade[-1] == PERIOD
    assert all(b >= a for a, b in zip(fade, fade[1:], strict=False)), fade
    assert len(fade) >= 20  # many small steps, not a handful of visible ones
    # every duty is a point of the gamma curve, and no step skips more than a tenth of the
    # way in perceived level (the fader's 60 steps a second over 4 s ask for 1/240 each;
    # the sampler, under TCG, may miss a few): big steps in duty at the bright end only
    assert r["on_curve"], fade
    levels = r["fade_levels"]
    steps = [b - a for a, b in zip(levels, levels[1:], strict=False)]
    assert max(steps) <= 0.1, f"a fade step of {max(steps):.3f} in level: {levels}"
    assert r["closed"] == {"exported": False}
    # on lgpio, level 0.01 is 1 % duty (gpiozero hands lgpio whole percent), never dark
    assert int(r["accent_value"] * 100) == 1
    assert r["accent_rises"] >= 50


def test_the_arm64_install_runs_check_config_and_tests() -> None:
    if os.geteuid() != 0:
        pytest.skip("the arm64 chroot is built as root (debootstrap, chroot, binfmt_misc)")
    if shutil.which("qemu-aarch64-static") is None:
        pytest.fail("the arm64 check needs qemu-user-static: run ./setup.sh --test")
    from tests.rigs.pi_rig import arm64_check

    out = arm64_check()
    print("arm64:", out["pytest_tail"].strip().splitlines()[-1])
    assert out["arch"] == "aarch64"
    assert out["check_rc"] == 0 and "OK:" in out["check_config"], out
    assert out["pytest_rc"] == 0, out["pytest_tail"]
