"""One pure-ASGI middleware: request ids, the access log line, Prometheus metrics and the body limit.

Pure ASGI rather than ``BaseHTTPMiddleware`` so request and response bodies stream through
untouched (the envelope transfer path must not be copied or buffered here). The request id comes
from a well-formed ``X-Request-ID`` or is generated, is echoed in the response, and is attached to
every log record made while the request runs. Bodies of routes other than envelope uploads are
refused past ``max_request_bytes`` while they arrive.
"""

import contextvars
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from gateway.errors import RequestTooLargeError
from gateway.schemas.wire_types import Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("ccgate_request_id", default=None)
_WELL_FORMED_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("ccgate.access")
error_log = logging.getLogger("ccgate.errors")


def current_request_id() -> str | None:
    """The id of the request being served by this task, if any."""
    return _REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the current request id."""
        record.request_id = current_request_id()
        return True


class Metrics:
    """The gateway's Prometheus metrics, in a registry owned by one app (no process-global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ccgate_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ccgate_http_request_duration_seconds",
            "Time to the end of the response",
            ["method", "route"],
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "ccgate_http_request_body_bytes", "Request body bytes", registry=self.registry
        )
        self.bytes_out = Counter(
            "ccgate_http_response_body_bytes", "Response body bytes", registry=self.registry
        )


def _is_upload(scope: Scope) -> bool:
    return scope.get("method") == "PUT" and str(scope.get("path", "")).endswith("/content")


class GatewayMiddleware:
    """Request id, access log, metrics, and the request-body limit."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_request_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _WELL_FORMED_ID.fullmatch(offered) else secrets.token_hex(12)
        token = _REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # Until a response starts; an exception before then is a 500.
        started_response = False
        sent = 0
        received = 0
        limit = None if _is_upload(scope) else self.max_request_bytes

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    # An HTTPException, because FastAPI turns any other error while reading a body
                    # into a generic 400; the problem table maps 413 to ``request.too_large``.
                    raise StarletteHTTPException(413, f"request bodies are limited to {limit} bytes")
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status, sent, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            declared = headers.get(b"content-length")
            if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
                detail = f"request bodies are limited to {limit} bytes"
                problem = (413, RequestTooLargeError.code, "Request too large", detail)
                await _send_problem(scope, receive, tagged_send, request_id, problem)
            else:
                await self.app(scope, counted_receive, tagged_send)
        except Exception:
            # Whatever escaped the problem table is answered here, while the request id is still
            # known, as a 500 problem with no internals; the traceback goes to the log only.
            error_log.exception("unhandled error")
            if started_response:
                raise  # The response had started: nothing more can be said to the client.
            problem = (500, "internal.error", "Internal error", "the gateway failed; see its logs")
            await _send_problem(scope, receive, tagged_send, request_id, problem)
        finally:
            self._record(scope, status, time.perf_counter() - started, received, sent)
            _REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, elapsed: float, received: int, sent: int) -> None:
        """Count the request in the metrics and write its access log line (no query string, no headers)."""
        template = str(getattr(scope.get("route"), "path", "unmatched"))
        method = str(scope.get("method", ""))
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(elapsed)
        self.metrics.bytes_in.inc(received)
        self.metrics.bytes_out.inc(sent)
        extra = {
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "bytes_in": received,
            "bytes_out": sent,
        }
        access_log.info("%s %s %d", method, template, status, extra=extra)


async def _send_problem(
    scope: Scope, receive: Receive, send: Send, request_id: str, problem: tuple[int, str, str, str]
) -> None:
    """Answer with a problem+json body from here, outside the app's own exception handlers."""
    status, code, title, detail = problem
    body = Problem(
        type="urn:ccgate:problem:" + code,
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=str(scope.get("path", "")),
        request_id=request_id,
    )
    response = JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type="application/problem+json"
    )
    await response(scope, receive, send)
