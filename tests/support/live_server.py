"""Serve a WSGI app on a free loopback port with waitress, in a background thread.

::

    with LiveServer(create_app(...)) as server:
        requests.get(server.url + "/healthz")

The event loop runs in a daemon thread; :meth:`LiveServer.stop` wakes it through
waitress's trigger, and the thread itself closes the sockets and shuts the worker threads
down, so nothing touches waitress's socket map from two threads at once.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"


class LiveServer:
    """A WSGI application served by waitress on ``127.0.0.1`` and a free port.

    Parameters
    ----------
    app
        Any WSGI callable (a Flask app, for instance).
    threads
        Waitress worker threads (requests served concurrently).
    **adjustments
        Further ``waitress.create_server`` settings.
    """

    def __init__(self, app: Any, threads: int = 4, **adjustments: Any) -> None:
        import waitress  # imported here so that collecting this module never needs it

        self._map: dict[int, Any] = {}
        self._server = waitress.create_server(app, map=self._map, host=HOST, port=0,
                                              threads=threads, **adjustments)
        self.port: int = int(self._server.effective_port)
        self.url: str = f"http://{HOST}:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"LiveServer:{self.port}",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from waitress import wasyncore

        adj = self._server.adj
        try:
            while self._map and not self._stopping.is_set():
                wasyncore.loop(timeout=adj.asyncore_loop_timeout, map=self._map,
                               use_poll=adj.asyncore_use_poll, count=1)
        finally:
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._map, ignore_all=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish the requests in flight, join the thread. Idempotent."""
        if not self._stopping.is_set():
            self._stopping.set()
            try:
                self._server.pull_trigger()  # wake the loop now rather than at its timeout
            except OSError:
                pass  # already closed
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"LiveServer on {self.url} did not stop within {timeout} s")

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopping.is_set() else "running"
        return f"<LiveServer {self.url} {state}>"
