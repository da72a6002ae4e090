"""Profiles in the REST API (``/api/v1/profiles``); the People page is static/people.js.

Thin calls to the hub's profile commands, which validate and refuse with a reason.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from hub.people.profiles import ProfileIn, ProfileOut

from . import web_state
from .errors import json_body
from .openapi import describe

bp = Blueprint("profiles", __name__, url_prefix="/api/v1/profiles")


class ProfileList(BaseModel):
    """Every profile, by name."""

    profiles: list[ProfileOut]


def _hub() -> Any:
    return web_state().hub


@bp.get("")
@describe(ProfileList, tag="people")
def list_profiles() -> Response:
    """List every profile (name, limits, favourite scenes, areas, notes)."""
    return jsonify({"profiles": _hub().people.list()})


@bp.post("")
@describe(ProfileOut, status=201, body=ProfileIn, body_required=True, errors=(409,), tag="people")
def create_profile() -> tuple[Response, int]:
    """Create a profile; its id is made from the name."""
    return jsonify(_hub().people.create(json_body(required=True))), 201


@bp.get("/<profile_id>")
@describe(ProfileOut, errors=(404,), tag="people")
def get_profile(profile_id: str) -> Response:
    """Return one profile."""
    return jsonify(_hub().people.get(profile_id))


@bp.put("/<profile_id>")
@describe(ProfileOut, body=ProfileIn, body_required=True, errors=(404,), tag="people")
def update_profile(profile_id: str) -> Response:
    """Replace a profile; a running session for them takes the new limits at once."""
    return jsonify(_hub().people.update(profile_id, json_body(required=True)))


@bp.delete("/<profile_id>")
@describe(None, status=204, errors=(404, 409), tag="people")
def delete_profile(profile_id: str) -> tuple[str, int]:
    """Delete a profile and its journal (not while they are in the running session)."""
    _hub().people.delete(profile_id)
    return "", 204
