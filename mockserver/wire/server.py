"""`MockServer`: the mock API on a real socket in a background thread, for tests and scripts.

with MockServer() as server:
    client = OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from ..engine.scenarios import ScenarioSet
from ..faults.config import Settings
from ..faults.hangs import Server
from .app import create_app
from .connections import server_config
from .service import MockService


class MockServer:
    """Runs uvicorn on a free loopback port (by default) until `stop()` or the end of a `with` block."""

    def __init__(self, settings: Settings | None = None, scenarios: ScenarioSet | None = None) -> None:
        self.settings = settings or Settings(port=0, log_level="warning")
        self.app = create_app(self.settings, scenarios)
        self.service: MockService = self.app.state.service
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running; call start() first")
        return f"http://{self.settings.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as `base_url` to an OpenAI client."""
        return self.url + "/v1"

    def start(self, timeout: float = 10.0) -> MockServer:
        # IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only for sockets that name their protocol.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self.settings.host, self.settings.port))
        self.port = sock.getsockname()[1]
        config = server_config(
            self.app, self.settings, access_log=False, lifespan="on" if self.settings.watch else "off"
        )
        self._server = Server(config)  # uvicorn's, ending stalled answers at stop()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="mockserver", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mockserver did not start on {self.settings.host}:{self.port}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self.service.store.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
