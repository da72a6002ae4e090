"""Who may use the hub: the request guard (API tokens, cookie logins with CSRF).

Only ``/healthz``, the login and set-password pages, their two API calls and static files
answer without auth (views marked :func:`public`, or described with ``public=True``). A
request is authenticated by ``Authorization: Bearer <token>`` or by the login cookie; a
state-changing request made with the cookie must also carry the session's CSRF token in
the ``X-CSRF-Token`` header.

The first password needs the one-time setup code that the service logs at start and
``massage-hub setup-code`` prints, so nobody else on the network can choose it. Cookie
logins are kept on the server (:mod:`web.credentials`): logging out ends one, a new
password ends them all. Every password check is counted before it runs and runs on one of
at most ``web.password_checks_at_once`` threads (:mod:`web.rate_limits`; each argon2 check
takes 19 MiB), waiting briefly for one, the fewest recent wrong passwords first; attempts
are limited per address and per IPv6 /64. The auth API's views are in :mod:`web.auth_api`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any

from flask import Response, g, request, session

from hub.errors import HubError

from .credentials import MAX_SESSIONS, Credentials, hash_token
from .errors import ApiError
from .guests import bearer_guest_token, check_guest_request, identify_guest
from .rate_limits import PREFIX_FACTOR, FailureHistory, PasswordChecks, RateLimiter, client_keys

__all__ = [
    "COOKIE_NAME",
    "MAX_SESSIONS",
    "Auth",
    "Credentials",
    "PasswordChecks",
    "RateLimiter",
    "csrf_token",
    "hash_token",
    "public",
]

COOKIE_NAME = "massagehub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as answering without auth."""
    view.public = True  # type: ignore[attr-defined]
    return view


class Auth(Credentials):
    """Credentials plus the per-request checks the Flask app runs."""

    def __init__(self, hub: Any, config: Any) -> None:
        super().__init__(hub.store, hub.recorder)
        self.hub = hub
        self.limiter = RateLimiter(config.web.login_attempts_per_minute)
        self.prefix_limiter = RateLimiter(config.web.login_attempts_per_minute * PREFIX_FACTOR)
        self.checks = PasswordChecks(config.web.password_checks_at_once)
        self.history = FailureHistory()
        self._failures = threading.local()  # the client's wrong passwords, for the queue

    def _hash(self, password: str) -> str:
        return str(self.checks.run(super()._hash, password, failures=self._standing()))

    def _verify(self, stored: str, password: str) -> bool:
        return bool(self.checks.run(super()._verify, stored, password, failures=self._standing()))

    def _standing(self) -> float:
        return float(getattr(self._failures, "n", 0.0))

    def guarded(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a password check counted against this client's attempts.

        The attempt counts before the check runs, for the address and (IPv6) its /64; a
        check refused as busy does not count; a success forgets the client's attempts.
        The client's wrong passwords of the last minutes order the wait for a check.
        """
        client, prefix = client_keys(request.remote_addr)
        failures = self.history.score(client)
        if prefix is not None:
            failures = max(failures, self.history.score(prefix) / PREFIX_FACTOR)
        stamp = self.limiter.attempt(client)
        prefix_stamp = None
        if prefix is not None:
            try:
                prefix_stamp = self.prefix_limiter.attempt(prefix)
            except ApiError:
                self.limiter.forget(client, stamp)
                raise
        self._failures.n = failures
        try:
            ok = func(*args)
        except HubError as exc:
            if exc.code == "busy":
                self.limiter.forget(client, stamp)
                if prefix is not None and prefix_stamp is not None:
                    self.prefix_limiter.forget(prefix, prefix_stamp)
            elif exc.code == "wrong_setup_code":
                self._failed(client, prefix)
            raise
        finally:
            self._failures.n = 0.0
        if ok:
            self.limiter.reset(client)
            self.history.forget(client)
        else:
            self._failed(client, prefix)
        return ok

    def _failed(self, client: str, prefix: str | None) -> None:
        self.history.add(client)
        if prefix is not None:
            self.history.add(prefix)

    # --- the request gate ------------------------------------------------------------------

    def identify(self) -> str | None:
        """Return how the request is authenticated: "token", "cookie", "guest" or None."""
        g.guest = None
        if self.hub is not None and identify_guest(self.hub):
            return "guest"
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
            if self.token_id(value.strip()) is None:
                raise ApiError(401, "unauthorized", "that API token is not valid (revoked?)")
            return "token"
        if session.get("auth") and self.session_valid(session.get("sid")):
            return "cookie"
        return None

    def before_request(self) -> Response | None:
        """Let public views through; require auth (and CSRF with a cookie) elsewhere."""
        from flask import current_app, redirect, url_for

        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or request.endpoint == "static" or getattr(view, "public", False):
            g.auth = None
            g.guest = None
            if bearer_guest_token() is not None and view is not None:
                self.identify()  # an ended guest link is refused everywhere (401)
            return None
        try:
            g.auth = self.identify()
        except ApiError as exc:
            if getattr(view, "page", False):
                if exc.code == "guest_ended":
                    return redirect(url_for("guests.guest_ended"))
                return redirect(url_for("pages.login"))
            raise
        if g.auth is None:
            if getattr(view, "page", False):
                target = "pages.login" if self.password_set() else "pages.setup"
                return redirect(url_for(target))
            if not self.password_set():
                raise ApiError(401, "unauthorized", "set a password first (open the web UI)")
            raise ApiError(401, "unauthorized", "log in, or send 'Authorization: Bearer <token>'")
        if g.auth == "guest":
            if request.endpoint == "pages.app_shell":
                return redirect(url_for("guests.therapist"))
            check_guest_request(self.hub, request.endpoint or "", request.view_args)
        cookie = g.auth == "cookie" or (g.auth == "guest" and g.get("guest_cookie"))
        if cookie and request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token", "")
            if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
                raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header; reload the page")
        return None

    def login_session(self) -> str:
        """Start a cookie session; return its CSRF token."""
        session.clear()
        session.permanent = True
        session["auth"] = 1
        session["sid"] = self.create_session()
        session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    def client(self) -> str:
        """Return the client's address as the rate limits key it (IPv4-mapped: IPv4)."""
        return client_keys(request.remote_addr)[0]


def csrf_token() -> str | None:
    """Return the cookie session's CSRF token, if logged in with the cookie (owner or guest)."""
    return session.get("csrf") if session.get("auth") or session.get("guest_token") else None
