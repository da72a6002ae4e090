"""The pi_rig guest's agent: run shell scripts the host sends over a serial port.

One JSON line in (``{"id": n, "sh": "...", "timeout": s}``), one JSON line out
(``{"id": n, "rc": rc, "out": base64}``); ``{"poweroff": true}`` ends it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import termios
import tty


def main(port: str) -> None:
    """Serve requests on ``port`` until told to power off."""
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    reader = os.fdopen(fd, "rb", buffering=0)
    writer = os.fdopen(os.dup(fd), "wb", buffering=0)
    writer.write(b"\nRIG-READY\n")
    with open("/run/simdir") as f:  # the gpio-sim chip's sysfs folder (init wrote it)
        simdir = f.read().strip()
    buf = b""
    while True:
        chunk = reader.read(4096)
        if not chunk:
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                req = json.loads(line)
            except ValueError:
                continue
            if req.get("poweroff"):
                return
            try:
                done = subprocess.run(
                    ["bash", "-c", req["sh"]],
                    cwd="/opt/hub",
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    timeout=req.get("timeout", 120),
                    env={**os.environ, "PYTHONPATH": "/opt/hub", "SIMDIR": simdir},
                )
                rc, out = done.returncode, done.stdout
            except subprocess.TimeoutExpired as exc:
                rc, out = 124, (exc.stdout or b"") + b"\n[agent] timed out"
            reply = {"id": req.get("id"), "rc": rc, "out": base64.b64encode(out).decode()}
            writer.write(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    main(sys.argv[1])
