"""Serve the web app with waitress inside ``massage-hub serve``."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


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
        service.web_app = self.app
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        import waitress

        web = self.config.web
        self.server = waitress.create_server(
            self.app,
            host=web.host,
            port=web.port,
            threads=web.threads,
            channel_timeout=120,
            connection_limit=max(100, web.threads * 4),
            ident="massage-hub",
            clear_untrusted_proxy_headers=True,
        )
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.thread.start()
        host = "localhost" if web.host in ("0.0.0.0", "::") else web.host
        log.info("web UI on http://%s:%s/", host, web.port)

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
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            if self.thread is not None:
                self.thread.join(timeout=5)
                if self.thread.is_alive():  # pragma: no cover - the loop did not answer
                    wasyncore.close_all(server._map)
        if self.thread is not None:
            self.thread.join(timeout=5)


def web_component(service: Any) -> WebComponent:
    """Return the web component for ``massage-hub serve``."""
    return WebComponent(service)
