"""``SandboxTransport``: a sync httpx transport that runs the sandbox's ASGI app in-process.

One long-lived event loop runs in a background thread (an anyio blocking portal, as
``starlette.testclient`` does); every ``handle_request`` — from any number of client threads —
schedules the request on that loop, so concurrent requests really overlap (the sandbox's
concurrency limit can be hit). The app's lifespan runs once at construction.

Fault mapping: ``errors.ConnectionDropped`` raised by the app → ``httpx.RemoteProtocolError``
(the write happened, no answer); ``errors.SimulatedTimeout`` → ``httpx.ReadTimeout``; an app
slower than the request's read timeout → ``httpx.ReadTimeout`` while the app keeps running to
completion on the loop (as a real server would).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.from_thread
import httpx

from .errors import ConnectionDropped, SimulatedTimeout


class SandboxTransport(httpx.BaseTransport):
    """Thread-safe in-process transport for ``httpx.Client`` (see module docstring)."""

    def __init__(self, app: Any, *, client_addr: tuple[str, int] = ("127.0.0.1", 50000), lifespan: bool = True) -> None:
        self.app = app
        self.client_addr = client_addr
        self._lock = threading.Lock()
        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        router = getattr(app, "router", None)
        if lifespan and router is not None and hasattr(router, "lifespan_context"):
            self._stack.enter_context(self._portal.wrap_async_context_manager(router.lifespan_context(app)))
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("SandboxTransport is closed")
        body = request.read()
        timeout = (request.extensions.get("timeout") or {}).get("read")
        future: concurrent.futures.Future = self._portal.start_task_soon(self._run, request, body)
        try:
            status, headers, content = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise httpx.ReadTimeout("Read timed out (sandbox answered too late)", request=request) from None
        except ConnectionDropped:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request) from None
        except SimulatedTimeout:
            raise httpx.ReadTimeout("Read timed out (simulated)", request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _run(self, request: httpx.Request, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme or "http",
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client_addr,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "extensions": {},
        }
        sent_body = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        finally:
            done.set()
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stack.close()
