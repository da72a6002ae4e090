"""Settings → Download backup / Restore: ``GET /api/v1/backup``, ``POST /api/v1/restore``.

Thin views over the hub's :class:`hub.backup.commands.BackupCommands` (owner only: a guest link
never reaches them). The restore body is the backup file itself, as JSON, optionally sent
with ``Content-Encoding: gzip`` (the Settings page compresses it): the web server's body
limit (64 KiB) applies to what is sent, so a compressed backup may be about ten times
that; a larger one is restored with ``massage-hub restore``.
"""

from __future__ import annotations

import json
import zlib

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from hub.backup.commands import BackupError
from hub.command_models import parse

from . import web_state
from .errors import ApiError, json_body
from .models import Open
from .openapi import describe

bp = Blueprint("backup", __name__, url_prefix="/api/v1")

MAX_UNPACKED = 16 * 2**20  # a compressed restore body unpacks to at most this


class BackupQuery(BaseModel):
    """``secrets=true`` also puts the password hash and API tokens in the backup."""

    model_config = ConfigDict(extra="forbid")

    secrets: bool = Field(False, description="include the password hash and API tokens")


class RestoreQuery(BaseModel):
    """``replace_secrets=true`` confirms, on its own, that the password and tokens are replaced."""

    model_config = ConfigDict(extra="forbid")

    replace_secrets: bool = Field(
        False,
        description="a backup made with secrets replaces this hub's password and API tokens "
        "only with this set; without it such a backup is refused",
    )


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
    doc = hub.backup.make(secrets=q.secrets)  # type: ignore[attr-defined]
    day = str(doc["created_at"])[:10] or "backup"
    resp = Response(json.dumps(doc, ensure_ascii=False, indent=1), mimetype="application/json")
    resp.headers["Content-Disposition"] = f'attachment; filename="massage-hub-{day}.json"'
    return resp


@bp.post("/restore")
@describe(Restored, query=RestoreQuery, body=Open, body_required=True, errors=(409,), tag="backup")
def restore_backup() -> Response:
    """Replace the room's data with a backup (checked whole first; all of it or nothing)."""
    q = parse(RestoreQuery, request.args.to_dict())
    hub = web_state().hub
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        doc = json_body(required=True)
        doc = doc if isinstance(doc, dict) else {}
        return jsonify(hub.backup.restore(doc, replace_secrets=q.replace_secrets))  # type: ignore[attr-defined]
    if encoding != "gzip":
        raise ApiError(415, "unsupported_encoding", "send the backup plain or gzip-compressed")
    raw = gunzip(request.get_data(cache=False))
    return jsonify(hub.backup.restore(raw, replace_secrets=q.replace_secrets))  # type: ignore[attr-defined]


def gunzip(data: bytes) -> bytes:
    """Return gzip ``data`` uncompressed, refusing more than MAX_UNPACKED (a zip bomb)."""
    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(data, MAX_UNPACKED + 1)
    except zlib.error:
        raise BackupError("the file is not gzip-compressed as its Content-Encoding says") from None
    if len(out) > MAX_UNPACKED or inflate.unconsumed_tail:
        raise BackupError(
            f"the backup is larger than {MAX_UNPACKED // 2**20} MiB uncompressed; "
            "restore it with: massage-hub restore FILE"
        )
    return out
