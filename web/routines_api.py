"""Routines in the REST API (``/api/v1/routines``); the Routines page is static/routines.js.

The views are thin calls to ``hub.routines`` (:class:`hub.routines.controller.RoutineController`),
which validates; without it (``routines.enabled: false``) they answer 503.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub.command_models import parse
from hub.routines.models import RoutineIn, RoutineList, RoutineOut, RoutinePatch, SkipNext

from . import web_state
from .errors import ApiError, json_body, json_object
from .models import Empty
from .openapi import describe

bp = Blueprint("routines", __name__, url_prefix="/api/v1/routines")


def _routines() -> Any:
    rc = web_state().hub.routines
    if rc is None:
        raise ApiError(
            503, "unavailable", "routines are not running (routines.enabled is false in the config)"
        )
    return rc


@bp.get("")
@describe(RoutineList, errors=(503,), tag="routines")
def list_routines() -> Response:
    """List every routine with its next run (in words too) and its last outcome."""
    return jsonify({"routines": _routines().list_routines()})


@bp.post("")
@describe(
    RoutineOut, status=201, body=RoutineIn, body_required=True, errors=(409, 503), tag="routines"
)
def create_routine() -> tuple[Response, int]:
    """Create a routine (a schedule and an action)."""
    body = json_body(required=True)
    return jsonify(_routines().create_routine(body)), 201


@bp.get("/<routine_id>")
@describe(RoutineOut, errors=(404, 503), tag="routines")
def get_routine(routine_id: str) -> Response:
    """Return one routine with its latest runs."""
    return jsonify(_routines().get_routine(routine_id))


@bp.put("/<routine_id>")
@describe(RoutineOut, body=RoutinePatch, body_required=True, errors=(404, 503), tag="routines")
def update_routine(routine_id: str) -> Response:
    """Change a routine: all of it or some fields (``{"enabled": false}`` disables it)."""
    body = json_body(required=True)
    return jsonify(_routines().update_routine(routine_id, body))


@bp.delete("/<routine_id>")
@describe(None, status=204, errors=(404, 503), tag="routines")
def delete_routine(routine_id: str) -> tuple[str, int]:
    """Delete a routine (its log of runs stays)."""
    _routines().delete_routine(routine_id)
    return "", 204


@bp.post("/<routine_id>/run")
@describe(RoutineOut, body=Empty, errors=(404, 409, 503), tag="routines")
def run_routine(routine_id: str) -> Response:
    """Run a routine's action now; its schedule stays as it is."""
    parse(Empty, json_object())
    return jsonify(_routines().run_now(routine_id))


@bp.post("/<routine_id>/stop")
@describe(RoutineOut, body=Empty, errors=(404, 409, 503), tag="routines")
def stop_routine(routine_id: str) -> Response:
    """Stop a routine that runs now (what it switched on goes off; its schedule stays)."""
    parse(Empty, json_object())
    return jsonify(_routines().stop_run(routine_id))


@bp.post("/<routine_id>/skip-next")
@describe(RoutineOut, body=SkipNext, errors=(404, 409, 503), tag="routines")
def skip_next(routine_id: str) -> Response:
    """Skip the routine's next planned run (``{"skip": false}`` takes the skip back)."""
    cmd = parse(SkipNext, json_object())
    return jsonify(_routines().skip_next(routine_id, cmd.skip))  # type: ignore[attr-defined]
