"""Config errors: YAML with the line of every key path, and pydantic errors as messages.

Each problem is a :class:`ConfigIssue` naming file, key path and line; a
:class:`ConfigError` carries every one of them at once. Used for ``hub.yaml``
(:mod:`hub.config.model`, which keeps these names importable) and ``scenes.yaml`` (:mod:`hub.scenes.scene`).
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


class ConfigIssue(typing.NamedTuple):
    """One problem in a config file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config (or scenes) file is not valid; ``issues`` lists every problem."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


# --- YAML with line numbers -------------------------------------------------------------


@dataclass
class Located:
    """Parsed YAML data plus the line of every key path."""

    data: Any
    lines: dict[tuple[str, ...], int]


def load_yaml(path: Path, text: str | None = None) -> Located:
    """Parse YAML, recording the line of each key path; raise ConfigError on bad syntax."""
    shown = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([ConfigIssue(shown, None, "", "file not found")]) from None
        except OSError as exc:
            raise ConfigError([ConfigIssue(shown, None, "", f"cannot read: {exc}")]) from None
    try:
        node, data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        ctx = exc.context_mark
        if exc.context and ctx is not None and mark is not None and ctx.line != mark.line:
            # the parser notices late: name the line where the broken construct began
            problem += f" ({exc.context} that starts on line {ctx.line + 1})"
        raise ConfigError([ConfigIssue(shown, line, "", f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(shown, None, "", f"YAML syntax error: {exc}")]) from None
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    return Located({} if data is None else data, lines)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """Return the document's node tree and its data, parsed once.

    libyaml (``CSafeLoader``) where PyYAML has it: the pure-Python parser, run twice, took
    80 ms of every start here and ~0.7 s at 1/8 of a core. Bad YAML is parsed again by the
    pure-Python one, whose messages the errors quote.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        loader = fast(text)
        try:
            node = loader.get_single_node()
            return node, (None if node is None else loader.construct_document(node))
        except yaml.YAMLError:
            pass
        finally:
            loader.dispose()
    return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)


def _walk(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _walk(value, (*path, str(i)), lines)


def line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """Return the line of ``path`` or of its nearest parent that has one."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


# --- turning pydantic errors into messages ------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if models else args[0]
    return annotation


def fields_at(model: type[BaseModel], path: tuple[str, ...]) -> list[str]:
    """Return the valid keys of the mapping at ``path`` inside ``model`` (for hints)."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k in current.model_fields if k != "source"]
    return []


def suggest(word: str, choices: list[str]) -> str:
    """Return " (did you mean 'x'?)" for the nearest of ``choices``, or ""."""
    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if near:
        return f" (did you mean '{near[0]}'?)"
    if choices:
        return f" (valid keys: {', '.join(choices)})"
    return ""


def _num(value: Any) -> Any:
    """Show 120.0 as 120 (pydantic hands float bounds back as floats)."""
    return f"{value:g}" if isinstance(value, float) else value


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    shown = repr(got) if isinstance(got, str) else got
    if kind == "missing":
        return "is required"
    if kind in ("less_than_equal", "less_than"):
        bound = _num(ctx.get("le", ctx.get("lt")))
        return f"must be at most {bound} (got {shown})"
    if kind in ("greater_than_equal", "greater_than"):
        if kind == "greater_than":
            return f"must be more than {_num(ctx.get('gt'))} (got {shown})"
        return f"must be at least {_num(ctx.get('ge'))} (got {shown})"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')} (got {shown})"
    if kind == "too_long":
        count = ctx.get("actual_length")
        if count is None and isinstance(got, dict | list):
            count = len(got)
        return f"at most {ctx.get('max_length')} entries allowed (got {count})"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entry"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg'][0].lower()}{err['msg'][1:]} (got {shown})"


def issues_from(
    exc: ValidationError,
    model: type[BaseModel],
    file: str,
    located: Located,
    prefix: tuple[str, ...] = (),
) -> list[ConfigIssue]:
    """Turn a pydantic ValidationError into ConfigIssues with lines and hints."""
    out: list[ConfigIssue] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        # drop union-member tags pydantic adds for "int | str" and friends
        loc = tuple(
            p
            for p in loc
            if p not in ("int", "str", "float", "bool", "function-after[_node_id(), str]")
        )
        path = (*prefix, *loc)
        if err["type"] == "extra_forbidden":
            message = "unknown key" + suggest(loc[-1], fields_at(model, loc[:-1]))
        else:
            message = _message(err)
        key = (".".join(path), message)
        if key in seen:
            continue
        seen.add(key)
        out.append(ConfigIssue(file, line_of(located.lines, path), ".".join(path), message))
    return out


# --- what one model cannot see: a pin used twice across sections ---------------------------


def pin_issues(data: Any, file: str, located: Located) -> list[ConfigIssue]:
    """List pins that are not pins, or used twice, in raw config data (with their lines)."""
    from hardware.pins import normalize_pin

    out: list[ConfigIssue] = []
    if not isinstance(data, dict):
        return out
    used: dict[str, str] = {}
    spots: list[tuple[tuple[str, ...], Any]] = []
    for section in ("lights", "heat_pads"):
        group = data.get(section)
        if isinstance(group, dict):
            for key, dev in group.items():
                if isinstance(dev, dict) and "pin" in dev:
                    spots.append(((section, str(key), "pin"), dev["pin"]))
    for section in ("diffuser", "button"):
        dev = data.get(section)
        if isinstance(dev, dict) and "pin" in dev:
            spots.append(((section, "pin"), dev["pin"]))
    for path, pin in spots:
        dotted = ".".join(path)
        if not isinstance(pin, int | str) or isinstance(pin, bool):
            continue
        try:
            name = normalize_pin(pin)
        except ValueError as exc:
            out.append(ConfigIssue(file, line_of(located.lines, path), dotted, str(exc)))
            continue
        if name in used:
            out.append(
                ConfigIssue(
                    file,
                    line_of(located.lines, path),
                    dotted,
                    f"{name} is already used by {used[name]}",
                )
            )
        else:
            used[name] = dotted
    return out
