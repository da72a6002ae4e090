"""Build the OpenAPI 3.1 description from the pydantic models and the operation table.

Another module adds operations by giving ``OPENAPI_OPS`` (a list of :class:`Op`) beside its
blueprint ``bp``: :func:`web.add_blueprint_module` appends them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub import __version__
from hub.commands import (
    DiffuserCommand,
    HeatPadCommand,
    LightCommand,
    SessionExtend,
    SessionStart,
    SpeakerCommand,
)
from hub.scenes import Scene

from . import models as m

REF = "#/components/schemas/{model}"


@dataclass
class Op:
    """One API operation: method, path (OpenAPI style), endpoint, models and statuses."""

    method: str
    path: str
    endpoint: str
    body: Any = None  # a model, a list of models (any of), "Scene"/"SceneInput", or None
    status: int = 200
    response: Any = None  # a model, or None for an empty response
    errors: list[int] = field(default_factory=list)
    public: bool = False
    tag: str = "hub"
    content_type: str = "application/json"
    query: list[dict[str, Any]] = field(default_factory=list)
    body_required: bool = False


AUTH_ERRORS = [401, 403]
CMD_ERRORS = [400, 401, 403, 422]

CORE_OPS: list[Op] = [
    Op("get", "/state", "api.state", response=m.HubState, errors=[401]),
    Op(
        "post",
        "/session",
        "api.start_session",
        SessionStart,
        201,
        m.SessionInfo,
        [*CMD_ERRORS, 404, 409],
        tag="session",
    ),
    Op("delete", "/session", "api.stop_session", None, 200, m.Open, [401, 403, 409], tag="session"),
    Op(
        "post",
        "/session/pause",
        "api.pause_session",
        m.Empty,
        200,
        m.SessionInfo,
        [*CMD_ERRORS, 409],
        tag="session",
    ),
    Op(
        "post",
        "/session/resume",
        "api.resume_session",
        m.Empty,
        200,
        m.SessionInfo,
        [*CMD_ERRORS, 409],
        tag="session",
    ),
    Op(
        "post",
        "/session/extend",
        "api.extend_session",
        SessionExtend,
        200,
        m.SessionInfo,
        [*CMD_ERRORS, 409],
        tag="session",
    ),
    Op("post", "/all-off", "api.all_off", None, 200, m.HubState, AUTH_ERRORS),
    Op(
        "delete",
        "/interrupted",
        "api.dismiss_interrupted",
        None,
        204,
        None,
        [*AUTH_ERRORS, 404],
        tag="session",
    ),
    Op("get", "/scenes", "api.list_scenes", response=m.SceneList, errors=[401], tag="scenes"),
    Op(
        "post",
        "/scenes",
        "api.create_scene",
        "SceneInput",
        201,
        Scene,
        [*CMD_ERRORS, 409],
        tag="scenes",
        body_required=True,
    ),
    Op("get", "/scenes/{scene_id}", "api.get_scene", None, 200, Scene, [401, 404], tag="scenes"),
    Op(
        "put",
        "/scenes/{scene_id}",
        "api.update_scene",
        "SceneInput",
        200,
        Scene,
        [*CMD_ERRORS, 404, 409],
        tag="scenes",
        body_required=True,
    ),
    Op(
        "delete",
        "/scenes/{scene_id}",
        "api.delete_scene",
        None,
        204,
        None,
        [*AUTH_ERRORS, 404, 409],
        tag="scenes",
    ),
    Op(
        "post",
        "/scenes/{scene_id}/duplicate",
        "api.duplicate_scene",
        m.SceneDuplicate,
        201,
        Scene,
        [*CMD_ERRORS, 404, 409],
        tag="scenes",
    ),
    Op(
        "post",
        "/scenes/{scene_id}/apply",
        "api.apply_scene",
        m.SceneApply,
        200,
        m.HubState,
        [*CMD_ERRORS, 404],
        tag="scenes",
    ),
    Op(
        "put",
        "/devices/{device_id}",
        "api.set_device",
        [LightCommand, DiffuserCommand, HeatPadCommand, SpeakerCommand],
        200,
        m.DeviceState,
        [*CMD_ERRORS, 404, 409],
        tag="devices",
        body_required=True,
    ),
    Op(
        "get",
        "/history",
        "api.history",
        None,
        200,
        m.HistoryPage,
        [401, 422],
        tag="history",
        query=[
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0},
            },
        ],
    ),
    Op(
        "get",
        "/events",
        "api.events",
        None,
        200,
        None,
        [401, 503],
        tag="events",
        content_type="text/event-stream",
    ),
    Op("get", "/openapi.json", "api.openapi", None, 200, m.Open, [401], tag="meta"),
    Op("get", "/auth", "auth.auth_status", None, 200, m.AuthStatus, [], public=True, tag="auth"),
    Op(
        "post",
        "/login",
        "auth.login",
        m.LoginBody,
        200,
        m.LoginResult,
        [400, 401, 409, 422, 429],
        public=True,
        tag="auth",
    ),
    Op(
        "post",
        "/setup",
        "auth.setup",
        m.SetupBody,
        201,
        m.LoginResult,
        [400, 403, 409, 422, 429],
        public=True,
        tag="auth",
    ),
    Op("post", "/logout", "auth.logout", None, 200, m.Ok, [], public=True, tag="auth"),
    Op(
        "put",
        "/password",
        "auth.change_password",
        m.PasswordChange,
        200,
        m.Ok,
        [*CMD_ERRORS, 429],
        tag="auth",
    ),
    Op("get", "/tokens", "auth.list_tokens", None, 200, m.TokenList, [401], tag="auth"),
    Op(
        "post",
        "/tokens",
        "auth.create_token",
        m.TokenCreate,
        201,
        m.TokenCreated,
        CMD_ERRORS,
        tag="auth",
    ),
    Op(
        "delete",
        "/tokens/{token_id}",
        "auth.revoke_token",
        None,
        204,
        None,
        [*AUTH_ERRORS, 404],
        tag="auth",
    ),
]

# paths outside /api/v1
ROOT_OPS: list[Op] = [
    Op("get", "/healthz", "health.healthz", None, 200, m.Health, [503], public=True, tag="meta"),
]

PARAMS = {
    "scene_id": {"type": "string", "minLength": 1, "maxLength": 100},
    "device_id": {"type": "string", "minLength": 1, "maxLength": 100},
    "token_id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
}


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    return dict(top.get("$defs", {}))


def _scene_input(scene_schema: dict[str, Any]) -> dict[str, Any]:
    """The Scene model as sent by a client: ``id`` optional (made from the name)."""
    schema = copy.deepcopy(scene_schema)
    schema["required"] = [r for r in schema.get("required", []) if r != "id"]
    schema["properties"].pop("builtin", None)
    schema["title"] = "SceneInput"
    schema["description"] = "A scene to store; the id is made from the name when left out."
    return schema


def _ref(model: Any) -> dict[str, Any]:
    if isinstance(model, str):
        return {"$ref": REF.format(model=model)}
    return {"$ref": REF.format(model=model.__name__)}


def build_spec(extra_ops: list[Op] | None = None) -> dict[str, Any]:
    """Return the OpenAPI document (the current app's operations when one is active)."""
    ops = list(CORE_OPS)
    summaries: dict[str, str] = {}
    try:
        from flask import current_app

        from . import web_state

        ops.extend(web_state().openapi_ops)
        summaries = {
            name: (view.__doc__ or "").strip().splitlines()[0]
            for name, view in current_app.view_functions.items()
            if view.__doc__
        }
    except RuntimeError:  # no app context: the core table only
        pass
    ops.extend(extra_ops or [])
    models: list[type[BaseModel]] = [m.ErrorBody]
    for op in [*ops, *ROOT_OPS]:
        for part in (op.body, op.response):
            for model in part if isinstance(part, list) else [part]:
                if isinstance(model, type) and issubclass(model, BaseModel):
                    models.append(model)
    models.append(Scene)
    schemas = _schemas(list(dict.fromkeys(models)))
    schemas["SceneInput"] = _scene_input(schemas["Scene"])

    paths: dict[str, Any] = {}
    for prefix, table in (("/api/v1", ops), ("", ROOT_OPS)):
        for op in table:
            paths.setdefault(prefix + op.path, {})[op.method] = _operation(op, summaries)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "massage-hub",
            "version": __version__,
            "description": "Drive a massage room's lights, diffuser, music and heat pads.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "massagehub_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


def _operation(op: Op, summaries: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": summaries.get(op.endpoint, op.endpoint),
        "tags": [op.tag],
    }
    if op.public:
        out["security"] = []
    params = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in PARAMS.items()
        if "{" + name + "}" in op.path
    ]
    params.extend(op.query)
    if params:
        out["parameters"] = params
    if op.body is not None:
        if isinstance(op.body, list):
            schema: dict[str, Any] = {"anyOf": [_ref(b) for b in op.body]}
        else:
            schema = _ref(op.body)
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": schema}},
        }
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "done"}
    if op.response is not None:
        ok["content"] = {op.content_type: {"schema": _ref(op.response)}}
    elif op.content_type != "application/json":
        ok["content"] = {op.content_type: {"schema": {"type": "string"}}}
    responses[str(op.status)] = ok
    statuses = {*op.errors, *([] if op.public else [401]), 421}  # 421: every path (Host)
    if op.method != "get":
        statuses.add(403)  # a request from another site's page (Origin), or CSRF
    if op.body is not None:
        statuses |= {413, 415}
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "error"),
            "content": {"application/json": {"schema": _ref(m.ErrorBody)}},
        }
    out["responses"] = responses
    return out


ERROR_TEXT = {
    400: "the body is not JSON",
    401: "not logged in, or a bad token",
    403: "no CSRF token, another site's page (Origin), or a wrong password or setup code",
    404: "no such thing",
    409: "does not fit the hub's state",
    413: "the body is larger than 64 KiB",
    415: "the body is not sent as application/json",
    421: "the Host header is not one of the hub's names (web.allowed_hosts)",
    422: "the values are not acceptable; the message says what to change",
    429: "too many wrong passwords, or other passwords are being checked; wait (Retry-After)",
    503: "not ready, or too many live connections",
}
