"""Serve the web app with waitress inside ``massage-hub serve``.

Waitress reads every connection on one thread and starts no request until its headers and
body are in, so idle connections cost no worker thread. What it lacks is added in front of
it: the gate (``web.gate``: a limit per client address, room for everyone at the server's
limit, file descriptors) and each connection's own limits (``web.channel``: time limits
for reading a request and for taking a response, one request at a time). Here:

- **the server**: waitress set up with those classes and the ``web`` config's limits;
- **JSON errors** for what waitress refuses itself (a body over 64 KiB, headers over
  32 KiB, bad HTTP), in the API's ``{"error": {"code", "message"}}`` shape;
- **the web component** that ``massage-hub serve`` starts and stops.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from typing import Any

from .channel import BODY_EXTRA_SECONDS, guarded_channel_class, json_error, without_file_wrapper
from .errors import MAX_BODY_BYTES
from .gate import (
    ACCEPT_PAUSE_SECONDS,
    FD_RESERVE,
    FDS_PER_CONNECTION,
    OUT_OF_FDS,
    SEND_TIMEOUT_FACTOR,
    fitting_connection_limit,
    guarded_server_class,
    raise_fd_limit,
)

__all__ = [  # names moved to web.gate and web.channel stay importable here (patch them there)
    "ACCEPT_PAUSE_SECONDS",
    "BODY_EXTRA_SECONDS",
    "CONNECTION_LIMIT",
    "FDS_PER_CONNECTION",
    "FD_RESERVE",
    "MAX_HEADER_BYTES",
    "OUT_OF_FDS",
    "SEND_TIMEOUT_FACTOR",
    "WebComponent",
    "create_server",
    "json_error",
    "raise_fd_limit",
    "web_component",
    "without_file_wrapper",
]

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 32 * 1024
CONNECTION_LIMIT = 512  # all clients together (poll(), so no FD_SETSIZE limit)


def _classes() -> tuple[type, type]:
    """Make the server and channel classes (waitress is imported only when serving)."""
    from waitress.task import ErrorTask

    messages = {  # codes as the Flask app names the same errors (web/errors.py)
        400: ("bad_request", "the request is not valid HTTP"),
        413: (
            "request_entity_too_large",
            f"the request body is too large (at most {MAX_BODY_BYTES} bytes)",
        ),
        431: (
            "request_header_fields_too_large",
            f"the request headers are too large (at most {MAX_HEADER_BYTES} bytes)",
        ),
        501: ("not_implemented", "that transfer encoding is not supported"),
    }

    class JsonErrorTask(ErrorTask):  # type: ignore[misc]
        """Answer what waitress refuses itself in the API's error shape."""

        def execute(self) -> None:
            error = self.request.error
            code, message = messages.get(
                error.code, ("internal", "something went wrong inside the hub; see its log")
            )
            if error.code == 400 and error.body:
                message = f"{message}: {error.body}"
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    channel_class = guarded_channel_class(JsonErrorTask)
    return guarded_server_class(channel_class), channel_class


def create_server(app: Any, web: Any) -> Any:
    """Return a waitress server for ``app`` with the limits of ``web`` (the web config)."""
    from waitress.adjustments import Adjustments
    from waitress.task import ThreadedTaskDispatcher

    server_class, _ = _classes()
    limit = fitting_connection_limit(max(CONNECTION_LIMIT, web.connections_per_client * 4))
    adj = Adjustments(
        host=web.host,
        port=web.port,
        threads=web.threads,
        channel_timeout=120,
        cleanup_interval=1,  # the stalled-connection check runs every second
        connection_limit=limit,
        max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses at >= this
        max_request_header_size=MAX_HEADER_BYTES,
        asyncore_use_poll=True,
        ident="massage-hub",
        clear_untrusted_proxy_headers=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    sockinfo = adj.listen[0]
    return server_class(
        without_file_wrapper(app),
        map={},
        dispatcher=dispatcher,
        adj=adj,
        sockinfo=sockinfo,
        per_client=web.connections_per_client,
        header_timeout=web.header_timeout_seconds,
    )


class WebComponent:
    """Run waitress on ``web.host:web.port`` in a thread."""

    name = "web"

    def __init__(self, service: Any) -> None:
        from . import create_app

        self.service = service
        self.config = service.config
        self.app = create_app(service.hub, service.config)
        state = self.app.extensions["massagehub"]
        state.service = service
        state.ready = service.ready.is_set
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        web = self.config.web
        self.server = create_server(self.app, web)
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.thread.start()
        host = "localhost" if web.host in ("0.0.0.0", "::") else web.host
        log.info("web UI on http://%s:%s/", host, web.port)
        auth = self.app.extensions["massagehub"].auth
        code = auth.setup_code()
        if code is not None:
            if web.host in ("0.0.0.0", "::"):
                host = socket.gethostname().split(".")[0] + ".local"
            log.warning(
                "no password is set yet: open http://%s:%s/ and enter the setup code %s "
                "(massage-hub setup-code prints it again)",
                host,
                web.port,
                code,
            )

    def _run(self) -> None:
        try:
            self.server.run()
        except Exception:  # pragma: no cover - logged; the service keeps driving the room
            log.exception("the web server stopped")

    def stop(self) -> None:
        """End every event stream, let the worker threads finish, then close the server."""
        self.app.extensions["massagehub"].broker.close()
        if self.server is not None:
            from waitress import wasyncore

            server = self.server
            # workers first: a worker finishing a stream still wakes the loop (the trigger);
            # then close every socket from inside the loop's own thread (closing them from
            # here while it waits in select() makes select fail), and the loop ends when
            # its map is empty
            server.task_dispatcher.shutdown(timeout=3)
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server.socket_map))
            if self.thread is not None:
                self.thread.join(timeout=5)
                if self.thread.is_alive():  # pragma: no cover - the loop did not answer
                    wasyncore.close_all(server.socket_map)
        if self.thread is not None:
            self.thread.join(timeout=5)


def web_component(service: Any) -> WebComponent:
    """Return the web component for ``massage-hub serve``."""
    return WebComponent(service)
