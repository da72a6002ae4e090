"""The OpenAPI 3.1 description, made by spectree from the routes and the pydantic models.

Each API view says what it takes and answers with :func:`describe`, under its route
decorator; spectree reads the routes off the app's URL map (paths, path parameters,
methods), turns the models into schemas and the views' docstrings into summaries. It only
describes: requests and responses pass through untouched, since the views parse bodies
themselves with the hub's command models and every error keeps the app's own
``{"error": {"code", "message"}}`` shape. What every route shares (the Host check, auth,
CSRF and Origin on writes, the JSON body rules) is added to each operation by
:func:`build_spec`, in one place.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

from hub import __version__

from .auth import COOKIE_NAME
from .models import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])

EVENT_STREAM = "text/event-stream"

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
    503: "not ready, busy, or switched off in the config",
}


_spec_lock = threading.Lock()
_tree: Any = None  # the SpecTree, made on the first request for the description
_document: dict[str, Any] | None = None  # what it made of the routes


def _spec_tree() -> Any:
    """Return the one SpecTree (spectree is imported here, on first use, not at start-up)."""
    global _tree
    if _tree is not None:
        return _tree
    from spectree import SpecTree
    from spectree.models import SecurityScheme, SecuritySchemeData
    from spectree.plugins.flask_plugin import FlaskPlugin

    class DescribeOnly(FlaskPlugin):  # type: ignore[misc]
        """Spectree's Flask plugin, describing only: a described view is called as it is."""

        def validate(self, func: Callable[..., Any], *spectree_args: Any, **kwargs: Any) -> Any:
            """Call the view (spectree passes its models first; Flask, the path values)."""
            return func(**kwargs)

        def parse_path(self, route: Any, path_parameter_descriptions: Any) -> tuple[str, list[Any]]:
            """Return the OpenAPI path and its parameters, as Werkzeug matches them."""
            path, params = super().parse_path(route, path_parameter_descriptions)
            for param in params:
                schema = param["schema"]
                if schema.get("format") == "int32":  # spectree's guess: ``int`` is any size
                    del schema["format"]
                    schema.setdefault("minimum", 0)
            return path, params

    _tree = SpecTree(
        backend=DescribeOnly,
        mode="strict",  # only described routes: the HTML pages are not part of the API
        annotations=False,
        naming_strategy=lambda model: model.__name__,
        nested_naming_strategy=lambda _parent, child: child,
        # spectree adds a validation-error status to every described route; it validates
        # nothing here, but every route may answer 421 (the Host check), so that is the one
        validation_error_status=421,
        validation_error_model=ErrorBody,
        title="massage-hub",
        version=__version__,
        description="Drive a massage room's lights, diffuser, music and heat pads.",
        security_schemes=[
            SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer")),
            SecurityScheme(
                name="cookie",
                data=SecuritySchemeData(type="apiKey", field_in="cookie", name=COOKIE_NAME),
            ),
        ],
        security=[{"bearer": []}, {"cookie": []}],
    )
    return _tree


def describe(
    answer: Any = None,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body: Any = None,
    body_required: bool = False,
    query: Any = None,
    tag: str = "hub",
    public: bool = False,
    stream: bool = False,
    media: str | None = None,
) -> Callable[[F], F]:
    """Describe an API view: its answer (a model, or None), body, query, own errors.

    ``public`` also lets the view answer without auth (like :func:`web.auth.public`);
    ``stream`` says the answer is an event stream, ``media`` that it is that media type
    (text, such as ``text/csv``). The errors every route shares are
    added by :func:`build_spec`. The view is returned as it is, with the description
    kept on it: spectree turns it into schemas only when the description is first asked
    for (that took a third of the service's start-up).
    """
    responses: dict[str, Any] = {f"HTTP_{status}": answer}
    responses.update({f"HTTP_{code}": (ErrorBody, ERROR_TEXT[code]) for code in errors})

    def decorate(view: F) -> F:
        view.description = {  # type: ignore[attr-defined]
            "json": body,
            "query": query,
            "responses": responses,
            "tags": [tag],
            "security": {} if public else None,
        }
        view.body_required = body_required  # type: ignore[attr-defined]
        view.stream = stream  # type: ignore[attr-defined]
        view.media = EVENT_STREAM if stream else media  # type: ignore[attr-defined]
        if public:
            view.public = True  # type: ignore[attr-defined]
        return view

    return decorate


def _described_app(app: Flask) -> Flask:
    """Return an app with ``app``'s API routes, each view as spectree describes it."""
    from spectree import Response

    tree = _spec_tree()
    shadow = Flask(__name__)
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        d = getattr(view, "description", None)
        if d is None or not _api_rule(rule.rule):
            continue
        described = tree.validate(
            json=d["json"],
            query=d["query"],
            resp=Response(**d["responses"]),
            tags=d["tags"],
            security=d["security"],
        )(view)
        shadow.add_url_rule(
            rule.rule, endpoint=rule.endpoint, view_func=described, methods=rule.methods
        )
    return shadow


def _api_rule(rule: str) -> bool:
    return rule.startswith("/api/") or rule == "/healthz"


def build_spec(app: Flask | None = None) -> dict[str, Any]:
    """Return the OpenAPI document of ``app`` (default: the current app, else the routes).

    Raise RuntimeError if an API route is not described.
    """
    from flask import current_app, has_app_context

    if app is None and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app is None:  # no app: the same routes, without a hub
        from . import blueprints

        app = Flask(__name__)
        for bp in blueprints():
            app.register_blueprint(bp)
    global _document
    with _spec_lock:
        tree = _spec_tree()
        if _document is None:  # the first description is made once, then kept
            with _described_app(app).app_context():
                _document = tree.spec
        spec = copy.deepcopy(_document)
    missing = []
    for rule in app.url_map.iter_rules():
        if not _api_rule(rule.rule):
            continue
        view = app.view_functions[rule.endpoint]
        path, _ = tree.backend.parse_path(rule, None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = spec["paths"].get(path, {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {rule.rule}")
                continue
            op["operationId"] = rule.endpoint.replace(".", "_")
            _shared(op, method, view)
    if missing:
        raise RuntimeError(f"API routes without web.openapi.describe(): {', '.join(missing)}")
    return spec


def _shared(op: dict[str, Any], method: str, view: Any) -> None:
    """Add to one operation what every route shares, and what spectree cannot say."""
    if not op.get("description"):
        op.pop("description", None)
    if not op.get("parameters"):
        op.pop("parameters", None)
    for param in op.get("parameters", []):
        if not param.get("description"):
            param.pop("description", None)
    codes = {421}  # every request: the Host check (web/hosts.py)
    if op.get("security") != []:
        codes.add(401)
    if method != "GET":
        codes.add(403)  # a write from another site's page (Origin), or no CSRF token
    body = op.get("requestBody")
    if body is not None:
        body["required"] = bool(getattr(view, "body_required", False))
        codes |= {400, 413, 415, 422}
    responses = op["responses"]
    for code in sorted(codes):
        responses.setdefault(
            str(code),
            {"content": {"application/json": {"schema": {"$ref": _ref(ErrorBody)}}}},
        )
    for code, answer in responses.items():
        if int(code) in ERROR_TEXT and int(code) >= 400:
            answer["description"] = ERROR_TEXT[int(code)]
    media = getattr(view, "media", None)
    if media is not None:
        ok = next(code for code in responses if code.startswith("2"))
        responses[ok]["content"] = {media: {"schema": {"type": "string"}}}
    op["responses"] = dict(sorted(responses.items()))


def _ref(model: type) -> str:
    return f"#/components/schemas/{model.__name__}"
