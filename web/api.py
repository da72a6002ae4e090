"""The REST API under ``/api/v1``: thin views over the hub's commands."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from hub.command_models import SessionExtend, SessionStart, parse
from hub.errors import InvalidCommand
from hub.guests.commands import source_for_guest
from hub.scenes.scene import Scene

from . import web_state
from .channel import BACKLOG_KEY
from .errors import ApiError, json_body, json_object
from .guests import while_guest_valid
from .models import (
    DeviceCommand,
    DeviceState,
    Empty,
    HistoryPage,
    HistoryQuery,
    HubState,
    Open,
    SceneApply,
    SceneDuplicate,
    SceneInput,
    SceneList,
    SessionInfo,
)
from .openapi import build_spec, describe
from .sse import StreamRefused

bp = Blueprint("api", __name__, url_prefix="/api/v1")

RESERVED_THREADS = 8  # server threads never taken by event streams


def _hub() -> Any:
    return web_state().hub


def _session_or_none() -> Any:
    return _hub().state()["session"]


def _link_people() -> list[str] | None:
    """The people a therapist's link is for (they reach every command made through it)."""
    guest = g.get("guest")
    return [str(p) for p in guest.get("profiles") or []] if guest else None


@bp.get("/state")
@describe(HubState)
def state() -> Response:
    """Return everything: devices, session, next routine, backend, problems in the data."""
    hub = _hub()
    return jsonify({**hub.state(), "problems": hub.store.problems()})


@bp.post("/session")
@describe(SessionInfo, status=201, body=SessionStart, errors=(404, 409), tag="session")
def start_session() -> tuple[Response, int]:
    """Start a session (409 if one runs)."""
    cmd = parse(SessionStart, json_object())
    source = source_for_guest(g.guest["name"]) if g.get("guest") else "web"
    result = _hub().sessions.start(
        cmd.scene,  # type: ignore[attr-defined]
        cmd.minutes,  # type: ignore[attr-defined]
        source=source,
        profiles=cmd.profiles,  # type: ignore[attr-defined]
        for_people=_link_people(),
        before=cmd.model_dump()["before"],
    )
    return jsonify(result), 201


@bp.post("/session/pause")
@describe(SessionInfo, body=Empty, errors=(409,), tag="session")
def pause_session() -> Response:
    """Pause the running session."""
    parse(Empty, json_object())
    return jsonify(_hub().sessions.pause())


@bp.post("/session/resume")
@describe(SessionInfo, body=Empty, errors=(409,), tag="session")
def resume_session() -> Response:
    """Resume the paused session."""
    parse(Empty, json_object())
    return jsonify(_hub().sessions.resume())


@bp.post("/session/extend")
@describe(SessionInfo, body=SessionExtend, errors=(409,), tag="session")
def extend_session() -> Response:
    """Add minutes to the running session (default 10)."""
    cmd = parse(SessionExtend, json_object())
    return jsonify(_hub().sessions.extend(cmd.minutes))  # type: ignore[attr-defined]


@bp.delete("/session")
@describe(Open, errors=(409,), tag="session")
def stop_session() -> Response:
    """Stop the session with its scene's fade-out (again: end it now)."""
    _hub().sessions.stop()
    return jsonify({"ok": True, "session": _session_or_none()})


@bp.post("/all-off")
@describe(HubState)
def all_off() -> Response:
    """Switch everything off now."""
    hub = _hub()
    hub.devices.all_off(reason="all_off")
    return jsonify(hub.state())


@bp.delete("/interrupted")
@describe(None, status=204, errors=(404,), tag="session")
def dismiss_interrupted() -> tuple[str, int]:
    """Forget the notice about an interrupted session."""
    _hub().sessions.dismiss_interrupted()
    return "", 204


# --- scenes -------------------------------------------------------------------------------


@bp.get("/scenes")
@describe(SceneList, tag="scenes")
def list_scenes() -> Response:
    """List every scene, built-ins first."""
    return jsonify({"scenes": _hub().scenes.list()})


@bp.post("/scenes")
@describe(Scene, status=201, body=SceneInput, body_required=True, errors=(409,), tag="scenes")
def create_scene() -> tuple[Response, int]:
    """Create a user scene."""
    return jsonify(_hub().scenes.create(json_body(required=True))), 201


@bp.get("/scenes/<scene_id>")
@describe(Scene, errors=(404,), tag="scenes")
def get_scene(scene_id: str) -> Response:
    """Return one scene."""
    return jsonify(_hub().scenes.get(scene_id).model_dump())


@bp.put("/scenes/<scene_id>")
@describe(Scene, body=SceneInput, body_required=True, errors=(404, 409), tag="scenes")
def update_scene(scene_id: str) -> Response:
    """Replace a user scene (built-ins cannot be changed)."""
    return jsonify(_hub().scenes.update(scene_id, json_body(required=True)))


@bp.delete("/scenes/<scene_id>")
@describe(None, status=204, errors=(404, 409), tag="scenes")
def delete_scene(scene_id: str) -> tuple[str, int]:
    """Delete a user scene (built-ins cannot be deleted)."""
    _hub().scenes.delete(scene_id)
    return "", 204


@bp.post("/scenes/<scene_id>/duplicate")
@describe(Scene, status=201, body=SceneDuplicate, errors=(404, 409), tag="scenes")
def duplicate_scene(scene_id: str) -> tuple[Response, int]:
    """Copy a scene (built-in or not)."""
    cmd = parse(SceneDuplicate, json_object())
    return jsonify(_hub().scenes.duplicate(scene_id, cmd.name)), 201  # type: ignore[attr-defined]


@bp.post("/scenes/<scene_id>/apply")
@describe(HubState, body=SceneApply, errors=(404,), tag="scenes")
def apply_scene(scene_id: str) -> Response:
    """Set every device as the scene says."""
    cmd = parse(SceneApply, json_object())
    hub = _hub()
    hub.scenes.apply(scene_id, fade_seconds=cmd.fade_seconds)  # type: ignore[attr-defined]
    return jsonify(hub.state())


# --- devices, history, events ---------------------------------------------------------------


@bp.put("/devices/<device_id>")
@describe(DeviceState, body=DeviceCommand, body_required=True, errors=(404, 409), tag="devices")
def set_device(device_id: str) -> Response:
    """Change one device; return its new state (``capped`` says what a person's limit held back)."""
    body = json_body(required=True)
    return jsonify(_hub().devices.set(device_id, body, for_people=_link_people()))


@bp.get("/history")
@describe(HistoryPage, query=HistoryQuery, errors=(422,), tag="history")
def history() -> Response:
    """Return past sessions, newest first (``limit``, ``offset``)."""
    args = request.args.to_dict()
    for key in ("limit", "offset"):
        if key in args:
            try:
                args[key] = int(args[key])  # type: ignore[assignment]
            except ValueError:
                raise InvalidCommand(f"{key}: must be a whole number") from None
    q = parse(HistoryQuery, args)
    sessions = _hub().sessions.history(q.limit, q.offset)  # type: ignore[attr-defined]
    return jsonify({"sessions": sessions, "limit": q.limit, "offset": q.offset})  # type: ignore[attr-defined]


@bp.get("/events")
@describe(None, errors=(429, 503), tag="events", stream=True)
def events() -> Response:
    """Stream server-sent events: ``event: state`` per change, heartbeats in between."""
    state = web_state()
    broker = state.broker
    # each stream holds a server thread: keep some free so commands (All off!) always run
    limit = max(1, state.config.web.threads - RESERVED_THREADS)
    guest = g.get("guest")
    try:
        client = broker.add(None if not guest else int(guest["id"]), limit)
    except StreamRefused as exc:
        code = "busy" if exc.status == 503 else "too_many_streams"
        raise ApiError(
            exc.status, code, f"{exc.message} (web.threads is {state.config.web.threads})"
        ) from None
    resp = Response(
        while_guest_valid(_hub(), broker.stream(client, request.environ.get(BACKLOG_KEY))),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    resp.call_on_close(lambda: broker.remove(client))
    return resp


@bp.get("/openapi.json")
@describe(Open, tag="meta")
def openapi() -> Response:
    """Return the OpenAPI description, generated from the routes and the models."""
    return jsonify(build_spec())
