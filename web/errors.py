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

MAX_BODY_BYTES = 64 * 1024  # the largest request body (the server refuses more before reading)
MAX_DEPTH = 32  # JSON nesting allowed in a body (real ones need 4)


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
            message = f"the request body is too large (at most {MAX_BODY_BYTES} bytes)"
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
        value = json.loads(raw)
    except RecursionError:
        value = None
        too_deep = True
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    else:
        too_deep = _depth(value) > MAX_DEPTH
    if too_deep:
        raise ApiError(
            400, "bad_json", f"the body is nested too deeply (at most {MAX_DEPTH} levels)"
        )
    return value


def _depth(value: Any) -> int:
    """Return how deeply ``value`` nests lists and objects (without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack.extend((child, level + 1) for child in item)
    return deepest


def json_object() -> dict[str, Any]:
    """Return the JSON body as a dict ({} when empty); 422 when it is not an object."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        return {}
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidCommand("expected a JSON object")
    return body
