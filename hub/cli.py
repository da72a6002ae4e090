"""The ``massage-hub`` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config.path import default_config_path

if TYPE_CHECKING:  # hub.config (pydantic) is imported by the commands that read the config
    from .config.model import Config, ConfigError
    from .engine.events import Event

log = logging.getLogger("massage-hub")

SWITCH_INTERVAL = 0.0005  # seconds; see cmd_serve
EX_CONFIG = 78  # sysexits.h: the unit's RestartPreventExitStatus stops a restart loop

BANNER_SIM = (
    "SIMULATED PINS: this is not a Raspberry Pi (or hardware.backend is 'mock'); "
    "nothing is wired, the room is simulated and shown in the web UI"
)


def _load(args: argparse.Namespace) -> Config:
    from .config.model import load_config

    return load_config(args.config)


def _load_or_say(args: argparse.Namespace) -> Config | None:
    """Load the config; if it is unusable, say why on stderr and return None."""
    from .config.model import ConfigError

    try:
        return _load(args)
    except ConfigError as exc:
        print(f"{exc}", file=sys.stderr)
        return None


def _say_problems(exc: ConfigError) -> None:
    """Print every problem in the configuration, one a line, on stderr."""
    print(f"{len(exc.issues)} problem(s) in the configuration:", file=sys.stderr)
    for issue in exc.issues:
        print(f"  {issue}", file=sys.stderr)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        if sys.stderr.isatty()
        else "%(levelname)s %(name)s: %(message)s",
    )


def cmd_version(args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"massage-hub {__version__}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config and scenes files; print every problem."""
    from .config.model import ConfigError
    from .scenes.scene import load_builtin_scenes

    try:
        config = _load(args)
        scenes = load_builtin_scenes(config.path(config.scenes_file))
    except ConfigError as exc:
        _say_problems(exc)
        return 1
    default = config.session.default_scene
    if default not in scenes:
        print(
            f"{args.config}: session.default_scene: {default!r} is not a built-in scene "
            f"({', '.join(scenes)}); the wall button and a bare start need it to be one of "
            "your own scenes",
            file=sys.stderr,
        )
    from .pi_setup import audio_clashes, one_wire_clashes, plan_pwm

    plan = plan_pwm(config)
    for lid, why in plan.software.items():
        print(f"{args.config}: lights.{lid}.pin: {why}", file=sys.stderr)
    for why in audio_clashes(config, plan):
        print(f"{args.config}: speaker: {why}", file=sys.stderr)
    for why in one_wire_clashes(config):
        print(f"{args.config}: {why}", file=sys.stderr)
    print(
        f"{args.config}: OK: {len(config.lights)} light(s), "
        f"{'a diffuser' if config.diffuser else 'no diffuser'}, "
        f"{len(config.heat_pads)} heat pad(s), {len(scenes)} built-in scenes, "
        f"backend {config.hardware.backend}"
    )
    return 0


def cmd_all_off(args: argparse.Namespace) -> int:
    """Drive every output pin off without the service, whatever state the config is in.

    Exit 0 when every known heat pin is off (a broken config is reported, not fatal).
    """
    from .room.direct import plan, switch_off

    result = switch_off(plan(args.config))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.done and not result.failed:
        print(
            f"no pins were switched: {args.config} names no pins that can be read, and the "
            "service left no record of the pins it drove",
            file=sys.stderr,
        )
        return 1
    print(f"all off: {', '.join(result.done) or 'nothing'}")
    if result.failed:
        print(f"FAILED: {'; '.join(result.failed)}", file=sys.stderr)
    return 0 if result.heat_off else 1


def cmd_make_music(args: argparse.Namespace) -> int:
    """Make calm tracks and a chime in the music folder (a fresh install plays something)."""
    from hardware.music import generate

    if args.music_dir is not None:
        music_dir = args.music_dir
    else:
        config = _load_or_say(args)
        if config is None:
            return 1
        music_dir = config.path(config.speaker.music_dir)
    written = generate(music_dir, if_empty=args.if_empty)
    if written:
        print(f"made {len(written)} file(s) in {music_dir}: " + ", ".join(p.name for p in written))
    else:
        print(f"{music_dir} already has music and a chime; nothing made")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a backup of the room's data to FILE (secrets only with --secrets)."""
    from datetime import datetime

    from .backup.commands import make_backup, write_backup
    from .store.database import Store

    config = _load_or_say(args)
    if config is None:
        return 1
    store = Store(config.data_path)
    try:
        now = datetime.now(config.zone()).isoformat(timespec="seconds")
        doc = make_backup(store, secrets=args.secrets, created_at=now)
    finally:
        store.close()
    try:
        write_backup(doc, args.file)
    except OSError as exc:
        print(f"cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{len(v)} {k}" for k, v in doc["tables"].items())
    kind = "with secrets (password hash, API tokens)" if args.secrets else "without secrets"
    print(f"backup written to {args.file} {kind}: {rows}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Check FILE whole, then replace the room's data with it in one transaction."""
    from .backup.commands import BackupError, restore_store
    from .store.database import Store

    config = _load_or_say(args)
    if config is None:
        return 1
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    store = Store(config.data_path)
    try:
        counts = restore_store(store, raw)
    except BackupError as exc:
        print(f"{args.file}: not restored, nothing changed: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    rows = ", ".join(f"{n} {k}" for k, n in counts.items())
    print(f"restored from {args.file}: {rows}")
    if "tokens" in counts:  # a backup made with --secrets
        print("the password and API tokens are now the backup's; every login has ended")
    print(
        "if the service is running, restart it to load the routines "
        "(sudo systemctl restart massage-hub); Settings → Restore does it live"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the hub until SIGTERM or SIGINT, then switch everything off."""
    from .config.model import ConfigError
    from .engine.event_types import FadeProgress
    from .service import build_service

    try:
        config = _load(args)
    except ConfigError as exc:
        _say_problems(exc)
        return EX_CONFIG
    _setup_logging(config.log_level)
    # Hand the GIL round every 0.5 ms, not 5: a command's thread then waits less behind the
    # event thread and the SSE streams. bench/http_latency.py, 20 SSE clients: PUT->pin p99
    # 9.1 ms at 5 ms, 5.9 ms at 1 ms, 4.8 ms at 0.5 ms (0.5 ms with no SSE client).
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        service = build_service(config)
    except ConfigError as exc:
        print(f"{exc}", file=sys.stderr)
        return EX_CONFIG
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    hub = service.hub
    if hub.backend == "mock":
        log.warning(BANNER_SIM)
    else:
        log.info("driving real GPIO pins")
    for warning in hub.warnings:
        log.warning("HARDWARE: %s", warning)

    def on_signal(signum: int, frame: object) -> None:
        log.info("%s received: switching everything off", signal.Signals(signum).name)
        service.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def log_event(event: Event) -> None:
        if not isinstance(event.payload, FadeProgress):  # a fade's steps would flood the log
            log.info("event %s %s", event.type, event.data)

    hub.subscribe(log_event)
    service.run()
    log.info("stopped; every output is off")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = argparse.ArgumentParser(
        prog="massage-hub", description="Drive a massage room's lights, diffuser, music and heat."
    )
    parser.add_argument("--version", action="version", version=f"massage-hub {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: object, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "--config",
            type=Path,
            default=default_config_path(),
            help="config file (default: %(default)s)",
        )
        p.set_defaults(func=func)
        return p

    add("serve", cmd_serve, "run the service (web UI, MQTT, routines) until stopped")
    add("check-config", cmd_check_config, "check the config file and list every problem")
    p = add("all-off", cmd_all_off, "switch every output off")
    p.add_argument(
        "--direct",
        action="store_true",
        help="drive the pins directly, without the service (used by systemd after a stop)",
    )
    add("version", cmd_version, "print the version")
    p = add(
        "backup",
        cmd_backup,
        "write the room's data (scenes, routines, history, settings) to a file",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the backup file to write")
    p.add_argument(
        "--secrets",
        action="store_true",
        help="also the password hash and API tokens (keep such a file private)",
    )
    p = add("restore", cmd_restore, "replace the room's data with a backup file")
    p.add_argument("file", type=Path, metavar="FILE", help="a file that 'backup' made")
    p = add("make-music", cmd_make_music, "make calm tracks and a chime in the music folder")
    p.add_argument("--music-dir", type=Path, help="the music folder (instead of the config's)")
    p.add_argument(
        "--if-empty", action="store_true", help="only make tracks if no playlist has any"
    )
    from web.cli import register  # set-password, token (no Flask import)

    register(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
