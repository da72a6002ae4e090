"""Settings → Download backup / Restore: ``GET /api/v1/backup``, ``POST /api/v1/restore``.

Thin views over the hub's :class:`hub.backup.BackupCommands` (owner only: a guest link
never reaches them). The restore body is the backup file itself, as JSON; the web server's
body limit (64 KiB) applies, so a larger backup is restored with ``massage-hub restore``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from hub.commands import parse

from . import web_state
from .errors import json_body
from .models import Open
from .openapi import describe

bp = Blueprint("backup", __name__, url_prefix="/api/v1")


class BackupQuery(BaseModel):
    """``secrets=true`` also puts the password hash and API tokens in the backup."""

    model_config = ConfigDict(extra="forbid")

    secrets: bool = Field(False, description="include the password hash and API tokens")


class Restored(Open):
    """What a restore replaced: rows per table."""

    ok: bool
    restored: dict[str, int]
    secrets: bool


@bp.get("/backup")
@describe(Open, query=BackupQuery, errors=(422,), tag="backup")
def download_backup() -> Response:
    """Download a backup of the room's data (a JSON file); secrets only when asked for."""
    q = parse(BackupQuery, request.args.to_dict())
    hub = web_state().hub
    doc = hub.backup(secrets=q.secrets)  # type: ignore[attr-defined]
    day = str(doc["created_at"])[:10] or "backup"
    resp = Response(json.dumps(doc, ensure_ascii=False, indent=1), mimetype="application/json")
    resp.headers["Content-Disposition"] = f'attachment; filename="massage-hub-{day}.json"'
    return resp


@bp.post("/restore")
@describe(Restored, body=Open, body_required=True, errors=(409,), tag="backup")
def restore_backup() -> Response:
    """Replace the room's data with a backup (checked whole first; all of it or nothing)."""
    doc = json_body(required=True)
    return jsonify(web_state().hub.restore(doc if isinstance(doc, dict) else {}))
