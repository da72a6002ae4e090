"""The journal in the REST API (``/api/v1/journal``, ``.csv``, ``/insight``).

The Journal page is static/journal.js. The hub validates; these views only read the query.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from hub.people.journal import JournalIn

from . import web_state
from .errors import json_body
from .models import Open
from .openapi import describe

bp = Blueprint("journal", __name__, url_prefix="/api/v1")


class JournalQuery(BaseModel):
    """Which entries: one profile's, between two days (``YYYY-MM-DD``, both included)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    profile: str | None = Field(None, min_length=1, max_length=40)
    from_: str | None = Field(None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")
    to: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class InsightQuery(BaseModel):
    """Whose journal: one profile's, or everyone's."""

    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(None, min_length=1, max_length=40)


class JournalEntry(Open):
    """One entry, with its session's scene and start."""

    id: int
    session_id: int
    profile: str
    when: str


class JournalList(BaseModel):
    """Entries, oldest session first."""

    entries: list[JournalEntry]


def _hub() -> Any:
    return web_state().hub


def _query(model: type[BaseModel]) -> dict[str, Any]:
    from hub.errors import InvalidCommand

    args = request.args.to_dict()
    unknown = [k for k in args if k not in {f.alias or n for n, f in model.model_fields.items()}]
    if unknown:
        names = ", ".join(f.alias or n for n, f in model.model_fields.items())
        raise InvalidCommand(f"{unknown[0]}: unknown query parameter (use {names})")
    return args


@bp.post("/journal")
@describe(JournalEntry, status=201, body=JournalIn, body_required=True, tag="people")
def add_entry() -> tuple[Response, int]:
    """Add a journal entry: stress before or after a session, or sleep the morning after."""
    return jsonify(_hub().people.add_journal_entry(json_body(required=True))), 201


@bp.get("/journal")
@describe(JournalList, query=JournalQuery, errors=(422,), tag="people")
def list_entries() -> Response:
    """List journal entries (``profile``, ``from``, ``to``)."""
    q = _query(JournalQuery)
    rows = _hub().people.journal_entries(q.get("profile"), q.get("from"), q.get("to"))
    return jsonify({"entries": rows})


@bp.get("/journal.csv")
@describe(None, query=JournalQuery, errors=(422,), tag="people", media="text/csv")
def entries_csv() -> Response:
    """Download journal entries as CSV (the same filters)."""
    q = _query(JournalQuery)
    text = _hub().people.journal_csv(q.get("profile"), q.get("from"), q.get("to"))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="journal.csv"'},
    )


@bp.get("/journal/insight")
@describe(Open, query=InsightQuery, errors=(404, 422), tag="people")
def insight() -> Response:
    """What the journal shows: weekly stress and sleep, scenes by stress drop, with counts."""
    q = _query(InsightQuery)
    return jsonify(_hub().people.journal_insight(q.get("profile")))


@bp.get("/people/sensors")
@describe(Open, tag="people")
def sensors() -> Response:
    """Per profile: the last session's stress change and the last night's sleep."""
    return jsonify(_hub().people.sensors())
