"""Errors a hub command can raise; each maps to one HTTP status and error code.

And :func:`attempt`, for what may fail without failing the command around it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class HubError(Exception):
    """A command was refused; nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, dict[str, str]]:
        """Return the API error body."""
        return {"error": {"code": self.code, "message": self.message}}


class InvalidCommand(HubError):
    """The command's values are not acceptable."""

    status = 422
    code = "invalid"


class NotFound(HubError):
    """No such device, scene, routine or session."""

    status = 404
    code = "not_found"


class Conflict(HubError):
    """The command does not fit the hub's current state."""

    status = 409
    code = "conflict"


class SafetyLocked(Conflict):
    """A heat pad is cooling down after reaching its time limit."""

    code = "safety_locked"


class Unavailable(HubError):
    """The hub cannot do this right now (a disk or device error); try again later."""

    status = 503
    code = "unavailable"


class StorageUnavailable(Unavailable):
    """The hub's database cannot be written now (locked by another program, full, read-only)."""

    code = "storage_unavailable"


def attempt(what: str, run: Callable[[], Any]) -> bool:
    """Run ``run``; log and swallow its exception. Return True if it worked."""
    try:
        run()
    except Exception:
        log.exception("%s failed; going on without it", what)
        return False
    return True
