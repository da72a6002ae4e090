"""The sections of ``hub.yaml`` as models, and loading it: every error at once, with lines."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator

from ..facts import HEAT_TARGET_MARGIN, MAX_HEAT_MINUTES
from .adapters import HomeKitConfig, MqttConfig, Strict, WebConfig
from .errors import ConfigError as ConfigError
from .errors import ConfigIssue as ConfigIssue
from .errors import Located as Located
from .errors import _message as _message
from .errors import issues_from as issues_from
from .errors import line_of as line_of
from .errors import load_yaml as load_yaml
from .errors import pin_issues
from .errors import suggest as suggest

# the loading and error machinery lives in config_errors; its names stay importable from here
from .path import default_config_path  # noqa: F401 - importable here too

DEVICE_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


Pin = int | str


class LightConfig(Strict):
    """One dimmable light channel."""

    pin: Pin
    name: str | None = None
    gamma: float = Field(2.2, ge=1.0, le=4.0)
    min_duty: float = Field(0.004, ge=0.0, le=0.2)
    frequency: int = Field(800, ge=50, le=20000)
    active_high: bool = True
    #: the light's power at full brightness, for a session's energy and cost (null: not counted)
    watts: float | None = Field(None, gt=0, le=1000)


class DiffuserConfig(Strict):
    """The diffuser relay."""

    pin: Pin
    name: str | None = None
    on_seconds: float = Field(30.0, gt=0, le=3600)
    off_seconds: float = Field(60.0, gt=0, le=3600)
    active_high: bool = True


#: a 1-wire temperature sensor's id as the kernel names it (family-serial), or the only one
SENSOR_ID = r"^(auto|[0-9a-f]{2}-[0-9a-f]{12})$"


class HeatTargets(Strict):
    """The temperature each heat level holds, in °C, when the pad has a sensor."""

    low: float = Field(34.0, ge=25, le=50)
    medium: float = Field(38.0, ge=25, le=50)
    high: float = Field(42.0, ge=25, le=50)


class HeatPadConfig(Strict):
    """One heat pad relay, its safety limits, and its optional temperature sensor."""

    pin: Pin
    name: str | None = None
    max_on_minutes: float = Field(60.0, gt=0, le=MAX_HEAT_MINUTES)
    cooldown_minutes: float = Field(30.0, ge=0, le=24 * 60)
    manual_timeout_minutes: float = Field(20.0, gt=0, le=MAX_HEAT_MINUTES)
    cycle_seconds: float = Field(60.0, ge=10, le=600)
    min_switch_seconds: float = Field(10.0, ge=0, le=300)
    active_high: bool = True
    #: a DS18B20 on the pad (its 1-wire id, or "auto" for the only one); null: time alone
    sensor: str | None = None
    #: above this the pad is switched off and locked (with a sensor)
    max_celsius: float = Field(45.0, ge=30, le=50)
    targets: HeatTargets = HeatTargets()
    #: the pad's power while its relay is closed, for a session's energy and cost
    watts: float | None = Field(None, gt=0, le=3000)

    @field_validator("sensor")
    @classmethod
    def _sensor(cls, v: str | None) -> str | None:
        if v is not None and not re.match(SENSOR_ID, v):
            raise ValueError(
                f"{v!r} is not a sensor id: use auto (the only sensor on the bus) or the id "
                "the hub lists, like 28-0316a279a4ff"
            )
        return v


class ButtonConfig(Strict):
    """The optional wall button."""

    pin: Pin
    hold_seconds: float = Field(2.0, ge=0.5, le=10)


class HardwareConfig(Strict):
    """How pins are driven."""

    backend: Literal["auto", "gpio", "mock"] = "auto"
    control_hz: float = Field(60.0, ge=50, le=200)
    watchdog_seconds: float = Field(5.0, ge=1, le=120)
    #: the pads' sensors: DS18B20s on 1-wire (w1), or a simulated pad; auto: w1 on real pins
    sensors: Literal["auto", "w1", "simulated"] = "auto"
    #: where the kernel lists 1-wire sensors (dtoverlay=w1-gpio); a test points it elsewhere
    w1_devices: Path = Path("/sys/bus/w1/devices")


class SpeakerConfig(Strict):
    """The music player."""

    enabled: bool = True
    music_dir: Path = Path("../music")
    max_volume: float = Field(80.0, ge=0, le=100)
    output: Literal["auto", "alsa", "pulse", "afile", "none"] = "auto"
    device: str | None = None
    afile_path: Path | None = None


class SessionConfig(Strict):
    """Session defaults."""

    default_scene: str = "swedish"
    default_minutes: float = Field(60, ge=1, le=240)
    prewarm_minutes: float = Field(5, ge=0, le=30)
    max_minutes: float = Field(240, ge=1, le=480)
    max_pause_minutes: float = Field(30, ge=1, le=240)


class RoutinesConfig(Strict):
    """Scheduled routines (hub/routines/controller.py)."""

    enabled: bool = True
    misfire_grace_minutes: float = Field(10, ge=0, le=24 * 60)


class EnergyConfig(Strict):
    """What a kWh costs, for each session's cost (the lights' and pads' watts give the kWh)."""

    price_per_kwh: float | None = Field(None, ge=0, le=100)
    currency: str = Field("€", min_length=1, max_length=4)


class LocationConfig(Strict):
    """Where the room is, for sunset times (no internet needed)."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Config(Strict):
    """The whole hub configuration."""

    data_dir: Path = Path("../data")
    timezone: str | None = None
    location: LocationConfig | None = None
    scenes_file: Path = Path("scenes.yaml")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    hardware: HardwareConfig = HardwareConfig()
    lights: dict[str, LightConfig] = Field(min_length=1)
    diffuser: DiffuserConfig | None = None
    heat_pads: dict[str, HeatPadConfig] = Field(default_factory=dict, max_length=2)
    button: ButtonConfig | None = None
    speaker: SpeakerConfig = SpeakerConfig()
    session: SessionConfig = SessionConfig()
    web: WebConfig = WebConfig()
    mqtt: MqttConfig = MqttConfig()
    homekit: HomeKitConfig = HomeKitConfig()
    routines: RoutinesConfig = RoutinesConfig()
    energy: EnergyConfig = EnergyConfig()

    #: where the file was loaded from (not a key)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {v!r}; use a name like Europe/London"
                ) from None
        return v

    @field_validator("lights", "heat_pads")
    @classmethod
    def _ids(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if not DEVICE_ID.match(key):
                raise ValueError(
                    f"device id {key!r} must start with a letter and use a-z, 0-9 and _"
                )
        return v

    def zone(self) -> ZoneInfo:
        """Return the configured time zone, or the system's."""
        return ZoneInfo(self.timezone) if self.timezone else system_zone()

    def path(self, p: Path) -> Path:
        """Resolve ``p`` relative to the config file's folder."""
        p = Path(os.path.expanduser(str(p)))
        if p.is_absolute() or self.source is None:
            return p
        return (self.source.parent / p).resolve()

    @property
    def data_path(self) -> Path:
        """The data directory, resolved."""
        return self.path(self.data_dir)

    def device_ids(self) -> list[str]:
        """Return every output device id."""
        ids = list(self.lights)
        if self.diffuser is not None:
            ids.append("diffuser")
        ids.extend(self.heat_pads)
        if self.speaker.enabled:
            ids.append("speaker")
        return ids

    def device_name(self, did: str) -> str:
        """A device's display name (from the config, else from its id)."""
        if did in self.lights:
            return self.lights[did].name or did.replace("_", " ").capitalize()
        if did in self.heat_pads:
            return self.heat_pads[did].name or did.replace("_", " ").capitalize()
        if did == "diffuser" and self.diffuser is not None:
            return self.diffuser.name or "Diffuser"
        return did.capitalize()

    def pins(self) -> dict[str, Pin]:
        """Return every configured output pin by its key path."""
        out: dict[str, Pin] = {}
        for key, light in self.lights.items():
            out[f"lights.{key}.pin"] = light.pin
        if self.diffuser is not None:
            out["diffuser.pin"] = self.diffuser.pin
        for key, pad in self.heat_pads.items():
            out[f"heat_pads.{key}.pin"] = pad.pin
        return out


def system_zone() -> ZoneInfo:
    """Return the system's time zone (TZ, /etc/timezone, /etc/localtime), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _id_issues(data: Any, file: str, located: Located) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for section in ("lights", "heat_pads"):
        group = data.get(section) if isinstance(data, dict) else None
        if not isinstance(group, dict):
            continue
        for key in group:
            if not DEVICE_ID.match(str(key)):
                message = f"device id {str(key)!r} must start with a letter and use a-z, 0-9 and _"
                out.append(ConfigIssue(file, line_of(located.lines, (section,)), section, message))
    return out


def parse_config(located: Located, file: str, source: Path | None = None) -> Config:
    """Validate parsed YAML into a Config, collecting every problem into one ConfigError."""
    data = located.data
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(file, 1, "", "the file must be a mapping of keys")])
    issues: list[ConfigIssue] = []
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        issues.extend(issues_from(exc, Config, file, located))
    issues.extend(pin_issues(data, file, located))
    # device ids are checked after their values, so check them here too: every error at once
    known = {(i.path, i.message) for i in issues}
    issues.extend(i for i in _id_issues(data, file, located) if (i.path, i.message) not in known)
    if config is not None:
        issues.extend(_cross_checks(config, file, located))
    if issues:
        issues.sort(key=lambda i: (i.line or 0, i.path))
        raise ConfigError(issues)
    assert config is not None
    config.source = source
    return config


def _cross_checks(config: Config, file: str, located: Located) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for key, pad in config.heat_pads.items():
        if pad.manual_timeout_minutes > pad.max_on_minutes:
            path = ("heat_pads", key, "manual_timeout_minutes")
            out.append(
                ConfigIssue(
                    file,
                    line_of(located.lines, path),
                    ".".join(path),
                    f"must not be longer than max_on_minutes ({pad.max_on_minutes:g})",
                )
            )
        targets = pad.targets
        for level in ("low", "medium", "high"):
            if getattr(targets, level) > pad.max_celsius - HEAT_TARGET_MARGIN:
                path = ("heat_pads", key, "targets", level)
                message = (
                    f"must be at least {HEAT_TARGET_MARGIN:g} °C under max_celsius "
                    f"({pad.max_celsius:g} °C)"
                )
                out.append(ConfigIssue(file, line_of(located.lines, path), ".".join(path), message))
        if not targets.low <= targets.medium <= targets.high:
            path = ("heat_pads", key, "targets")
            message = "low, medium and high must go up (low ≤ medium ≤ high)"
            out.append(ConfigIssue(file, line_of(located.lines, path), ".".join(path), message))
    clash = set(config.lights) & set(config.heat_pads)
    clash |= {"diffuser", "speaker"} & (set(config.lights) | set(config.heat_pads))
    for key in sorted(clash):
        section = "lights" if key in config.lights else "heat_pads"
        path = (section, key)
        out.append(
            ConfigIssue(
                file,
                line_of(located.lines, path),
                ".".join(path),
                f"device id {key!r} is used twice; device ids must be unique",
            )
        )
    return out


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, parse and validate a config file; raise ConfigError listing every problem."""
    p = Path(path)
    located = load_yaml(p)
    return parse_config(located, str(p), source=p.resolve())
