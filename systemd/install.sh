#!/usr/bin/env bash
# Install massage-hub as a hardened systemd service (a Raspberry Pi), or remove it.
# Called by `sudo ./setup.sh --install` and `sudo ./setup.sh --uninstall`; safe to run again.
#
#   --install    system user `massage-hub` (groups gpio, audio); the app in /opt/massage-hub
#                (app/ and venv/); /etc/massage-hub/hub.yaml from the shipped config unless
#                one exists (never overwritten); /var/lib/massage-hub for data; on a Pi the
#                PWM overlay + strict_gpiod in /boot/firmware/config.txt (reboot needed), a
#                udev rule and the unit's pwm.conf drop-in; the unit enabled and (re)started;
#                prints the web UI's address.
#   --uninstall  stops and removes the unit and /opt/massage-hub; keeps the user, the config
#                in /etc/massage-hub and the data in /var/lib/massage-hub.
#
# Environment:
#   MASSAGE_HUB_ROOT=DIR       put every file below DIR instead of / and only record the
#                              commands that change the system (useradd, systemctl, chown...)
#                              in DIR/setup-actions.log; for tests and dry runs
#   MASSAGE_HUB_PIP_OPTS=...   extra options for pip (e.g. --no-index --find-links WHEELS,
#                              a folder with the wheels of requirements/run.txt and build.txt)
#   MASSAGE_HUB_SKIP_PIP=1     create the venv but install nothing into it (tests)
#   PYTHON=python3             the interpreter the venv is made from
set -euo pipefail

MODE=${1:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
R=${MASSAGE_HUB_ROOT:-}
R=${R%/}

NAME=massage-hub
APP_DIR=/opt/massage-hub
CONF_DIR=/etc/massage-hub
DATA_DIR=/var/lib/massage-hub
UNIT_PATH=/etc/systemd/system/massage-hub.service
PY=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }
is_pi() { grep -qs "Raspberry Pi" /proc/device-tree/model; }

# Run a command that changes the system; under MASSAGE_HUB_ROOT only record it.
sys() {
  if [ -n "$R" ]; then
    printf '%s\n' "$*" >>"$R/setup-actions.log"
  else
    "$@"
  fi
}

if [ -z "$R" ] && [ "$(id -u)" -ne 0 ]; then
  die "installing a system service needs root: run 'sudo ./setup.sh $MODE'"
fi
if [ -n "$R" ]; then
  mkdir -p "$R"
  say "scratch root $R: files go below it; system commands are only recorded"
fi

do_uninstall() {
  say "stopping and removing the massage-hub service"
  if [ -n "$R" ] || [ -e "$UNIT_PATH" ]; then
    # stopping runs ExecStopPost (all off) with the app that is still installed
    sys systemctl disable --now "$NAME.service" || true
  fi
  rm -f "$R$UNIT_PATH" "$R$UNIT_PATH.d/pwm.conf" "$R/etc/udev/rules.d/60-massage-hub-pwm.rules"
  rmdir "$R$UNIT_PATH.d" 2>/dev/null || true
  sys systemctl daemon-reload || true
  rm -rf "$R$APP_DIR"
  say "removed the service and $APP_DIR"
  echo "kept: your config in $CONF_DIR, your data in $DATA_DIR, and the user $NAME;"
  echo "      the massage-hub block in /boot/firmware/config.txt (PWM overlay, strict_gpiod)."
  echo "to remove those too: sudo rm -rf $CONF_DIR $DATA_DIR && sudo userdel $NAME"
}

ensure_user() {
  local group
  for group in gpio audio; do
    if ! getent group "$group" >/dev/null; then
      sys groupadd --system "$group"
    fi
  done
  if ! id -u "$NAME" >/dev/null 2>&1; then
    say "creating the system user $NAME"
    sys useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "massage-hub service" "$NAME"
  fi
  sys usermod --append --groups gpio,audio "$NAME"
}

install_app() {
  local app="$R$APP_DIR/app" venv="$R$APP_DIR/venv" staging="$R$APP_DIR/app.new"
  say "installing the app into $APP_DIR"
  mkdir -p "$R$APP_DIR"
  rm -rf "$staging" "$R$APP_DIR/app.old"
  mkdir -p "$staging"
  # GNU tar exits 1 when a file changed while it was read (someone editing): not fatal
  tar -C "$SRC" --warning=no-file-changed \
    --exclude=./.git --exclude=./.venv --exclude=./data --exclude=./music --exclude=./tests \
    --exclude=./bench --exclude=./.ci --exclude=./node_modules --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.hypothesis \
    -cf - . | tar -C "$staging" -xf - || [ "${PIPESTATUS[0]}" = 1 ]
  if [ -d "$app" ]; then mv "$app" "$R$APP_DIR/app.old"; fi
  mv "$staging" "$app"
  rm -rf "$R$APP_DIR/app.old"

  if [ ! -x "$venv/bin/python" ]; then
    local args=()
    if is_pi; then args+=(--system-site-packages); fi # Debian's python3-lgpio
    say "creating the venv $APP_DIR/venv"
    "$PY" -m venv "${args[@]}" "$venv"
  fi
  if [ "${MASSAGE_HUB_SKIP_PIP:-}" = "1" ]; then
    sys pip install --require-hashes -r "$APP_DIR/app/requirements/build.txt"
    sys pip install --require-hashes -r "$APP_DIR/app/requirements/run.txt"
    sys pip install --no-deps --no-build-isolation -e "$APP_DIR/app"
  else
    say "installing massage-hub and its locked libraries into the venv (pip)"
    # the versions in the lock (requirements/, tools/lock-deps), each file checked against
    # its hash: pip and the build backend, the libraries, then the app without dependencies
    # shellcheck disable=SC2086 # MASSAGE_HUB_PIP_OPTS is a list of options
    local pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check ${MASSAGE_HUB_PIP_OPTS:-})
    "${pip[@]}" --require-hashes -r "$app/requirements/build.txt"
    "${pip[@]}" --require-hashes -r "$app/requirements/run.txt"
    "${pip[@]}" --no-deps --no-build-isolation -e "$app"
    # the service cannot write bytecode below /opt (ProtectSystem=strict): compile it now
    "$venv/bin/python" -m compileall -q "$app" >/dev/null || true
  fi
}

write_config() {
  local conf="$R$CONF_DIR/hub.yaml" shipped="$SRC/config/hub.yaml"
  mkdir -p "$R$CONF_DIR"
  if [ -e "$conf" ]; then
    say "keeping your config $CONF_DIR/hub.yaml"
    return
  fi
  say "writing $CONF_DIR/hub.yaml from the shipped config"
  sed -e "s|^data_dir:.*|data_dir: $DATA_DIR    # SQLite database, music, simulated pins\\
scenes_file: $APP_DIR/app/config/scenes.yaml   # built-in scenes (updated with the app)|" \
    -e "s|^\\(  *\\)music_dir:.*|\\1music_dir: $DATA_DIR/music   # each sub-folder is a playlist|" \
    "$shipped" >"$conf.new"
  grep -q "^data_dir: $DATA_DIR " "$conf.new" || die "could not set data_dir in $conf"
  grep -q "music_dir: $DATA_DIR/music " "$conf.new" || die "could not set music_dir in $conf"
  chmod 0640 "$conf.new"
  mv "$conf.new" "$conf"
  sys chown "root:$NAME" "$CONF_DIR/hub.yaml"
}

prepare_data() {
  mkdir -p "$R$DATA_DIR/music"
  chmod 0750 "$R$DATA_DIR"
  sys chown -R "$NAME:$NAME" "$DATA_DIR"
  local venv="$APP_DIR/venv"
  if [ -z "$R" ] && [ -x "$venv/bin/massage-hub" ]; then
    runuser -u "$NAME" -- "$venv/bin/massage-hub" make-music --config "$CONF_DIR/hub.yaml" \
      --if-empty
  fi
}

# On a Pi: the lights' hardware PWM overlay and strict_gpiod in config.txt (a backup first),
# a udev rule for the gpio group's pwmchip access, the unit's ReadWritePaths drop-in
# (hub/pi_setup.py; docs in hardware/README.md). MASSAGE_HUB_PI_SETUP=1 forces it (tests).
configure_pi() {
  if ! is_pi && [ "${MASSAGE_HUB_PI_SETUP:-}" != "1" ]; then return; fi
  say "configuring the Pi for the lights' hardware PWM"
  "$R$APP_DIR/venv/bin/python" -m hub.pi_setup --config "$R$CONF_DIR/hub.yaml" \
    --boot-config "$R/boot/firmware/config.txt" \
    --udev-rule "$R/etc/udev/rules.d/60-massage-hub-pwm.rules" \
    --unit-dropin "$R$UNIT_PATH.d/pwm.conf"
  sys udevadm control --reload
  sys udevadm trigger --subsystem-match=pwm
}

install_unit() {
  say "installing and enabling $UNIT_PATH"
  mkdir -p "$(dirname "$R$UNIT_PATH")"
  install -m 0644 "$SRC/systemd/massage-hub.service" "$R$UNIT_PATH"
  sys systemctl daemon-reload
  sys systemctl enable "$NAME.service"
  # an older unit (with StartLimitBurst=) may have left it refusing starts ("Start request
  # repeated too quickly"): clear that, or the restart below would be refused
  sys systemctl reset-failed "$NAME.service" 2>/dev/null || true
  sys systemctl restart "$NAME.service"
}

web_port() {
  local port
  port=$(sed -n '/^web:/,/^[^ #]/s/^  *port: *\([0-9][0-9]*\).*/\1/p' "$R$CONF_DIR/hub.yaml" | head -n1)
  echo "${port:-8080}"
}

do_install() {
  ensure_user
  install_app
  write_config
  prepare_data
  configure_pi
  install_unit
  local port host ip
  port=$(web_port)
  host=$(hostname 2>/dev/null || echo raspberrypi)
  ip=$(hostname -I 2>/dev/null | awk '{print $1}')
  if [ -n "$R" ]; then
    say "massage-hub is installed below $R (nothing was started)"
  else
    say "massage-hub is installed and running"
  fi
  echo "  web UI:   http://$host.local:$port/${ip:+   (or http://$ip:$port/)}"
  echo "  password: sudo -u $NAME $APP_DIR/venv/bin/massage-hub set-password --config $CONF_DIR/hub.yaml"
  echo "  config:   $CONF_DIR/hub.yaml   (then: sudo systemctl restart $NAME)"
  echo "  logs:     journalctl -u $NAME -f"
}

case "$MODE" in
  --install) do_install ;;
  --uninstall) do_uninstall ;;
  *) die "systemd/install.sh: use --install or --uninstall" ;;
esac
