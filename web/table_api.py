"""Who is on the table (``/api/v1/table``): the people whose limits every output keeps.

Set from the Now page (``PUT /table``), and the household default from Settings
(``PUT /table/default``). Thin calls to the hub, which checks every profile named.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub.command_models import TableSet, parse

from . import web_state
from .errors import json_body
from .models import TableState
from .openapi import describe

bp = Blueprint("table", __name__, url_prefix="/api/v1/table")


def _hub() -> Any:
    return web_state().hub


@bp.get("")
@describe(TableState, tag="people")
def get_table() -> Response:
    """Who is on the table now, why, the household default and the limits in force."""
    return jsonify(_hub().people.table())


@bp.put("")
@describe(TableState, body=TableSet, body_required=True, errors=(422,), tag="people")
def set_table() -> Response:
    """Say who is on the table (a running session is for them from now on)."""
    cmd = parse(TableSet, json_body(required=True))
    return jsonify(_hub().people.set_table(cmd.people))  # type: ignore[attr-defined]


@bp.put("/default")
@describe(TableState, body=TableSet, body_required=True, errors=(422,), tag="people")
def set_default() -> Response:
    """Say who is usually on the table (used while nobody is set on it)."""
    cmd = parse(TableSet, json_body(required=True))
    return jsonify(_hub().people.set_default(cmd.people))  # type: ignore[attr-defined]
