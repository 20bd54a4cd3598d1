"""Run the mock API in-process: transports that hand requests straight to the ASGI app, no socket involved.

There is one transport per HTTP library, because the official `openai` SDK 3.x sends through `httpx2` (its own fork
of httpx) while older SDKs, LangChain and most other clients use `httpx`; a client given the wrong one would go to the
network. Both sync and async clients are served, and streams arrive chunk by chunk as the app sends them.

    transport = sync_transport(app, httpx2)          # or httpx
    client = OpenAI(base_url="http://mockserver/v1", api_key="test", http_client=httpx2.Client(transport=transport))
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from starlette.types import ASGIApp, Message

_END = object()


def _scope(request: Any) -> dict[str, Any]:
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": ("127.0.0.1", 50000),
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "state": {},
    }


def _read_timeout(request: Any) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


class _Exchange:
    """One request run through the app: the answer's start, then its body chunks, put on `chunks` as they come."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes, chunks: Any, started: Any) -> None:
        self.app = app
        self.scope = scope
        self.body = body
        self.chunks = chunks
        self.started = started
        self.disconnected = asyncio.Event()
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.response_started = False

    async def run(self) -> None:
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await self.disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = list(message.get("headers", ()))
                self.response_started = True
                self.started(None)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    self.chunks(bytes(message["body"]))
                if not message.get("more_body", False):
                    self.chunks(_END)

        try:
            await self.app(self.scope, receive, send)
        except BaseException as exc:  # the app broke the connection (an injected fault, or a bug)
            if not self.response_started:
                self.started(exc)
            else:
                self.chunks(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not self.response_started:
                self.started(ConnectionError("the app returned without answering"))
            self.chunks(_END)


def _body_chunk(chunk: Any, http: ModuleType) -> bytes:
    """A chunk of the answer's body, or the error of a stream the app broke, as the HTTP library raises it."""
    if isinstance(chunk, BaseException):
        raise http.RemoteProtocolError(f"The mock server broke the stream: {chunk!r}") from chunk
    body: bytes = chunk
    return body


def _check_started(failure: BaseException | None, http: ModuleType) -> None:
    """An app that failed before its status line looks, to the client, like a server that hung up."""
    if failure is not None:
        raise http.RemoteProtocolError(f"Server disconnected without sending a response: {failure!r}")


def sync_transport(app: ASGIApp, http: ModuleType) -> Any:
    """A `BaseTransport` of the `http` module (httpx or httpx2) that serves requests from `app`."""

    class Stream(http.SyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, chunks: queue.Queue[Any], timeout: float | None, exchange: _Exchange, loop: Any) -> None:
            self._chunks = chunks
            self._timeout = timeout
            self._exchange = exchange
            self._loop = loop

        def __iter__(self) -> Iterator[bytes]:
            while True:
                try:
                    chunk = self._chunks.get(timeout=self._timeout)
                except queue.Empty:
                    raise http.ReadTimeout("The mock server sent nothing within the read timeout.") from None
                if chunk is _END:
                    return
                yield _body_chunk(chunk, http)

        def close(self) -> None:
            self._loop.call_soon_threadsafe(self._exchange.disconnected.set)

    class Transport(http.BaseTransport):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="mockserver-inprocess", daemon=True)
            self._thread.start()

        def handle_request(self, request: Any) -> Any:
            chunks: queue.Queue[Any] = queue.Queue()
            started: queue.Queue[BaseException | None] = queue.Queue()
            timeout = _read_timeout(request)
            exchange = _Exchange(app, _scope(request), request.read(), chunks.put, started.put)
            asyncio.run_coroutine_threadsafe(exchange.run(), self._loop)
            try:
                failure = started.get(timeout=timeout)
            except queue.Empty:
                raise http.ReadTimeout("The mock server sent no answer within the read timeout.") from None
            _check_started(failure, http)
            stream = Stream(chunks, timeout, exchange, self._loop)
            return http.Response(exchange.status, headers=exchange.headers, stream=stream, request=request)

        def close(self) -> None:
            if self._loop.is_closed():
                return
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    return Transport()


def async_transport(app: ASGIApp, http: ModuleType) -> Any:
    """An `AsyncBaseTransport` of the `http` module (httpx or httpx2) that serves requests from `app`."""

    class Stream(http.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, chunks: asyncio.Queue[Any], timeout: float | None, exchange: _Exchange, task: Any) -> None:
            self._chunks = chunks
            self._timeout = timeout
            self._exchange = exchange
            self._task = task

        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                try:
                    chunk = await asyncio.wait_for(self._chunks.get(), self._timeout)
                except TimeoutError:
                    raise http.ReadTimeout("The mock server sent nothing within the read timeout.") from None
                if chunk is _END:
                    return
                yield _body_chunk(chunk, http)

        async def aclose(self) -> None:
            self._exchange.disconnected.set()
            if not self._task.done():
                self._task.cancel()

    class Transport(http.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        async def handle_async_request(self, request: Any) -> Any:
            loop = asyncio.get_running_loop()
            chunks: asyncio.Queue[Any] = asyncio.Queue()
            started: asyncio.Future[BaseException | None] = loop.create_future()

            def start(failure: BaseException | None) -> None:
                if not started.done():
                    started.set_result(failure)

            timeout = _read_timeout(request)
            exchange = _Exchange(app, _scope(request), await request.aread(), chunks.put_nowait, start)
            task = asyncio.create_task(exchange.run())
            try:
                failure = await asyncio.wait_for(asyncio.shield(started), timeout)
            except TimeoutError:
                task.cancel()
                raise http.ReadTimeout("The mock server sent no answer within the read timeout.") from None
            _check_started(failure, http)
            stream = Stream(chunks, timeout, exchange, task)
            return http.Response(exchange.status, headers=exchange.headers, stream=stream, request=request)

    return Transport()
