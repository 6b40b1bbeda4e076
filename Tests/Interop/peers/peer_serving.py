"""What every peer server of the interop suite shares: reading an ASGI request body so middleware can look at
it and still pass it on, and running the app on 127.0.0.1 so that SIGTERM ends it gracefully with exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope


async def read_request(scope: Scope, receive: Receive) -> tuple[bytes, dict[str, str], Receive]:
    """The whole body and the lower-cased headers of a request, and a `receive` that hands the body on to
    the app as if it had not been read."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, headers, replay


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process would die of the
    signal; this one shuts down gracefully and exits 0."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def serve(app: ASGIApp, port: int, name: str) -> int:
    """Serves `app` on 127.0.0.1:`port` until SIGTERM or SIGINT, logging to stderr; returns the exit status."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", timeout_graceful_shutdown=2, lifespan="on")
    asyncio.run(GracefulServer(config).serve())
    logging.getLogger(name).info("stopped")
    return 0
