"""Every error answers ``{"error": {"code": ..., "message": ...}}`` with its status."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from hub.errors import HubError, InvalidCommand

log = logging.getLogger(__name__)


class ApiError(HubError):
    """An error of the web layer itself (bad JSON, auth, CSRF, rate limit)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


def error_response(status: int, code: str, message: str) -> Response:
    """Return a JSON error response."""
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "error"


def register_error_handlers(app: Flask) -> None:
    """Make every error, expected or not, answer in the API's error shape."""

    @app.errorhandler(HubError)
    def hub_error(exc: HubError) -> Response:
        resp = error_response(exc.status, exc.code, exc.message)
        for key, value in getattr(exc, "headers", {}).items():
            resp.headers[key] = value
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 404:
            message = f"nothing at {request.path}"
        elif status == 405:
            allowed = ", ".join(m for m in (exc.valid_methods or []) if m != "OPTIONS")  # type: ignore[attr-defined]
            message = f"{request.method} is not allowed on {request.path}" + (
                f"; use {allowed}" if allowed else ""
            )
        elif status == 413:
            message = "the request body is too large"
        resp = error_response(status, _snake(exc.name), message)
        if status == 405:
            allow = exc.get_response().headers.get("Allow")
            if allow:
                resp.headers["Allow"] = allow
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, "internal", "something went wrong inside the hub; see its log")


def json_body(required: bool = False) -> Any:
    """Return the request's JSON body (None when empty); raise a 400 ApiError if not JSON."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        if required:
            raise ApiError(400, "bad_json", "send a JSON object as the request body")
        return None
    if required and raw.strip() == b"null":
        raise InvalidCommand("expected a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None


def json_object() -> dict[str, Any]:
    """Return the JSON body as a dict ({} when empty); 422 when it is not an object."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        return {}
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidCommand("expected a JSON object")
    return body
