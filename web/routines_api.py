"""Routines in the REST API (``/api/v1/routines``) and the Routines page.

Registered by :func:`web.create_app` through ``OPTIONAL_BLUEPRINTS``; the views are thin
calls to ``hub.routines`` (:class:`hub.routines.RoutineController`), which validates.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub.commands import parse
from hub.routine_models import RoutineIn, RoutineList, RoutineOut, RoutinePatch, SkipNext

from . import web_state
from .errors import ApiError, json_body, json_object
from .models import Empty
from .openapi import PARAMS, Op

bp = Blueprint("routines", __name__, url_prefix="/api/v1/routines")

PAGE = {"id": "routines", "label": "Routines", "script": "routines.js"}

PARAMS.setdefault("routine_id", {"type": "string", "minLength": 1, "maxLength": 100})


def _routines() -> Any:
    rc = getattr(web_state().hub, "routines", None)
    if rc is None:
        raise ApiError(
            503, "unavailable", "routines are not running (routines.enabled is false in the config)"
        )
    return rc


@bp.get("")
def list_routines() -> Response:
    """List every routine with its next run (in words too) and its last outcome."""
    return jsonify({"routines": _routines().list_routines()})


@bp.post("")
def create_routine() -> tuple[Response, int]:
    """Create a routine (a schedule and an action)."""
    body = json_body(required=True)
    return jsonify(_routines().create_routine(body)), 201


@bp.get("/<routine_id>")
def get_routine(routine_id: str) -> Response:
    """Return one routine with its latest runs."""
    return jsonify(_routines().get_routine(routine_id))


@bp.put("/<routine_id>")
def update_routine(routine_id: str) -> Response:
    """Change a routine: all of it or some fields (``{"enabled": false}`` disables it)."""
    body = json_body(required=True)
    return jsonify(_routines().update_routine(routine_id, body))


@bp.delete("/<routine_id>")
def delete_routine(routine_id: str) -> tuple[str, int]:
    """Delete a routine (its log of runs stays)."""
    _routines().delete_routine(routine_id)
    return "", 204


@bp.post("/<routine_id>/run")
def run_routine(routine_id: str) -> Response:
    """Run a routine's action now; its schedule stays as it is."""
    parse(Empty, json_object())
    return jsonify(_routines().run_now(routine_id))


@bp.post("/<routine_id>/skip-next")
def skip_next(routine_id: str) -> Response:
    """Skip the routine's next planned run (``{"skip": false}`` takes the skip back)."""
    cmd = parse(SkipNext, json_object())
    return jsonify(_routines().skip_next(routine_id, cmd.skip))  # type: ignore[attr-defined]


_CMD = [400, 401, 403, 422]

OPENAPI_OPS = [
    Op("get", "/routines", "routines.list_routines", None, 200, RoutineList, [401], tag="routines"),
    Op(
        "post",
        "/routines",
        "routines.create_routine",
        RoutineIn,
        201,
        RoutineOut,
        [*_CMD, 409],
        tag="routines",
        body_required=True,
    ),
    Op(
        "get",
        "/routines/{routine_id}",
        "routines.get_routine",
        None,
        200,
        RoutineOut,
        [401, 404],
        tag="routines",
    ),
    Op(
        "put",
        "/routines/{routine_id}",
        "routines.update_routine",
        RoutinePatch,
        200,
        RoutineOut,
        [*_CMD, 404],
        tag="routines",
        body_required=True,
    ),
    Op(
        "delete",
        "/routines/{routine_id}",
        "routines.delete_routine",
        None,
        204,
        None,
        [401, 403, 404],
        tag="routines",
    ),
    Op(
        "post",
        "/routines/{routine_id}/run",
        "routines.run_routine",
        Empty,
        200,
        RoutineOut,
        [*_CMD, 404, 409],
        tag="routines",
    ),
    Op(
        "post",
        "/routines/{routine_id}/skip-next",
        "routines.skip_next",
        SkipNext,
        200,
        RoutineOut,
        [*_CMD, 404, 409],
        tag="routines",
    ),
]
