#!/usr/bin/env bash
# massage-hub setup. One command each:
#   ./setup.sh --run        set up, then run `massage-hub serve` on config/hub.yaml
#   ./setup.sh --test       set up with test tools, then run the whole test suite
#   ./setup.sh              set up only
#   sudo ./setup.sh --install    on a Pi: install as a systemd service (systemd/install.sh)
#   sudo ./setup.sh --uninstall  remove the service and app; keep config and data
# Installs what is missing with apt (as root or through sudo) and pip (into .venv): the
# Python packages from the hashed lock in requirements/ (tools/lock-deps regenerates it).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
MODE=${1:-}
case "$MODE" in
  ""|--run|--test|--install) ;;
  --uninstall) exec bash systemd/install.sh --uninstall ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "setup.sh: unknown option '$MODE' (use --run, --test, --install or --uninstall)" >&2; exit 2 ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

is_pi() { grep -qs "Raspberry Pi" /proc/device-tree/model; }

# --- system packages --------------------------------------------------------------------
APT_RUN=(python3 python3-venv python3-pip libvlc5 libvlc-bin vlc-plugin-base)
APT_TEST=(mosquitto chromium nodejs fonts-liberation fonts-dejavu-core systemd systemd-container debootstrap ffmpeg wrk pulseaudio pulseaudio-utils)
# the pi_rig tier (tests/rigs/pi_rig.py): a Debian kernel with a simulated GPIO chip under qemu
# TCG, its out-of-tree modules built with gcc-12, an arm64 chroot under qemu-user
APT_TEST+=(qemu-system-x86 qemu-user-static busybox-static cpio kmod xz-utils gcc-12 make libc6-dev libelf1)
if is_pi; then APT_RUN+=(python3-lgpio); fi
# 32-bit Raspberry Pi OS: PyPI has no armv6l/armv7l wheels of cffi, argon2-cffi-bindings and
# PyYAML, and piwheels' wheels are not in the lock: pip builds them from the hashed sdists
case "$(uname -m)" in armv6l|armv7l) APT_RUN+=(build-essential python3-dev libffi-dev) ;; esac
WANT=("${APT_RUN[@]}")
if [ "$MODE" = "--test" ]; then WANT+=("${APT_TEST[@]}"); fi

MISSING=()
for pkg in "${WANT[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$pkg")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  say "installing system packages: ${MISSING[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}"
fi

if [ "$MODE" = "--install" ]; then exec bash systemd/install.sh --install; fi

# --- Python environment --------------------------------------------------------------------
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "massage-hub needs Python 3.11 or newer; $("$PY" --version 2>&1) found" >&2
  exit 1
fi
VENV_ARGS=()
if is_pi; then VENV_ARGS+=(--system-site-packages); fi   # sees Debian's python3-lgpio
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv "${VENV_ARGS[@]}" .venv
fi
# the locked versions only, every file checked against its hash: pip and the build backend
# (requirements/build.txt), the libraries (run.txt, or test.txt: the same plus the test
# tools), then massage-hub itself without its dependencies
LOCK=requirements/run.txt
if [ "$MODE" = "--test" ]; then LOCK=requirements/test.txt; fi
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
say "installing massage-hub and $LOCK into .venv"
"${PIP[@]}" --require-hashes -r requirements/build.txt
"${PIP[@]}" --require-hashes -r "$LOCK"
"${PIP[@]}" --no-deps --no-build-isolation -e .

# --- axe-core for the browser tests' accessibility checks (the locked version, offline after) --
if [ "$MODE" = "--test" ]; then
  say "installing axe-core into tests/axe/node_modules"
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
  (cd tests/axe && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi

# --- music: a fresh install plays something ---------------------------------------------------
.venv/bin/massage-hub make-music --config config/hub.yaml --if-empty

case "$MODE" in
  --run)
    say "starting massage-hub (Ctrl+C stops it and switches everything off)"
    exec .venv/bin/massage-hub serve --config "$ROOT/config/hub.yaml"
    ;;
  --test)
    # the Home Assistant tier's own venv (HA 2025.4.4 on Python 3.13), built once and cached
    # outside the repository; here, so no test's timeout has to cover the first download
    say "making Home Assistant's test venv (cached after the first time)"
    .venv/bin/python -m tests.rigs.ha_venv || say "could not make it; the Home Assistant tests will say why"
    say "making the pi_rig guest: kernel, GPIO modules, bookworm userland (cached after the first time)"
    .venv/bin/python -m tests.rigs.pi_rig || say "could not make it; the pi_rig tests will say why"
    say "running the tests"
    exec .venv/bin/python -m pytest
    ;;
esac
say "ready: .venv/bin/massage-hub serve --config config/hub.yaml"
