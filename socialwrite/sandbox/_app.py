"""The aiohttp application: routes, authentication, the protocol's error bodies.

Handlers stay thin: validation lives in ``_validation``, keys in
``_idempotency``, the publish in ``_publisher``; this module turns requests
into calls to those and their outcomes into HTTP. Every answer, errors and
unknown paths included, carries a fresh ``X-Request-Id``, and every error is
the protocol's JSON body with the type its status calls for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._config import SandboxConfig
from ._faults import FaultInjector, WriteFault, json_answer_with_fault, stream_with_fault
from ._faults_config import FaultKind
from ._protocol import ProtocolError
from ._runs import WriteRun
from ._state import SandboxState
from ._uploads import setup_uploads
from ._validation import (
    check_idempotency_key,
    last_event_id,
    parse_write_request,
    wants_event_stream,
)

__all__ = ["faults_of", "make_app", "state_of"]

_logger = logging.getLogger("socialwrite.sandbox")

_STATE = web.AppKey("socialwrite_sandbox_state", SandboxState)
_FAULTS = web.AppKey("socialwrite_sandbox_faults", FaultInjector)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(config: SandboxConfig | None = None) -> web.Application:
    """Build the sandbox's aiohttp application.

    Usable on its own with aiohttp's runners or test tools
    (``aiohttp.test_utils.TestServer(make_app(config))``); use :func:`state_of`
    to read what it published and :func:`faults_of` to change its faults.

    Args:
        config: the sandbox's behaviour; the defaults when ``None``.
    """
    app = web.Application(middlewares=[_protocol_errors])
    state = SandboxState(config if config is not None else SandboxConfig())
    app[_STATE] = state
    faults = FaultInjector(state.config.faults)
    app[_FAULTS] = faults
    app.router.add_post("/v1/social/write", _post_write)
    app.router.add_get("/v1/sandbox/published", _get_published, allow_head=False)
    app.router.add_delete("/v1/sandbox/published", _delete_published)
    app.router.add_get("/v1/sandbox/faults", _get_faults, allow_head=False)
    uploads = setup_uploads(app, state.config.uploads)
    uploads.put_fault = faults.draw_put
    state.media_lookup = uploads.media_facts
    app.on_response_prepare.append(_add_request_id)
    app.on_shutdown.append(_stop_writes)
    return app


def state_of(app: web.Application) -> SandboxState:
    """Return the state of an application made by :func:`make_app`."""
    return app[_STATE]


def faults_of(app: web.Application) -> FaultInjector:
    """Return the fault injector of an application made by :func:`make_app`."""
    return app[_FAULTS]


def _new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


async def _add_request_id(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Request-Id", _new_request_id())


async def _stop_writes(app: web.Application) -> None:
    await app[_STATE].aclose()


def _error_response(error: ProtocolError) -> web.Response:
    return web.Response(
        status=error.status,
        text=error.body_text(),
        content_type="application/json",
        headers=error.headers,
    )


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ProtocolError:
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    if exc.status == 404:
        message = f"nothing at {request.path}; the API's paths start with /v1/"
        return ProtocolError(404, "not_found", message)
    if exc.status == 405:
        message = f"{request.method} is not allowed on {request.path}"
        return ProtocolError(405, "method_not_allowed", message, headers=headers)
    if exc.status == 413:
        message = "the request body is too large; a write's body is a small JSON object"
        return ProtocolError(413, "request_too_large", message)
    code = exc.reason.lower().replace(" ", "_") or "http_error"
    return ProtocolError(exc.status, code, exc.reason or f"HTTP {exc.status}", headers=headers)


@web.middleware
async def _protocol_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Authenticate matched routes and turn every failure into the protocol's error body."""
    try:
        if request.match_info.http_exception is None:
            _authenticate(request, state_of(request.app).config.api_key)
        return await handler(request)
    except ProtocolError as exc:
        return _error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_response(_from_http_exception(exc, request))
    except Exception:
        _logger.exception("unexpected error answering %s %s", request.method, request.path)
        message = "the sandbox failed to answer; see its log"
        return _error_response(ProtocolError(500, "internal_error", message))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _authenticate(request: web.Request, api_key: str) -> None:
    challenge = {"WWW-Authenticate": 'Bearer realm="socialwrite sandbox"'}
    header = request.headers.get("Authorization")
    if not header:
        message = "no API key: send it as the header 'Authorization: Bearer <api key>'"
        raise ProtocolError(401, "missing_api_key", message, headers=challenge)
    scheme, _, token = header.strip().partition(" ")
    # Digests of equal length make the comparison's time independent of the
    # key's length as well as of its content.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        _digest(token.strip()), _digest(api_key)
    ):
        message = "the API key is not valid for this sandbox (see how it was started)"
        raise ProtocolError(401, "invalid_api_key", message, headers=challenge)


async def _post_write(request: web.Request) -> web.StreamResponse:
    state = state_of(request.app)
    # A connection is known by its client address and port (an ephemeral port
    # is not reused while the connection is open).
    transport = request.transport
    state.ledger.count_received(None if transport is None else transport.get_extra_info("peername"))
    idempotency_key = check_idempotency_key(request.headers.get("Idempotency-Key"))
    body = await request.read()
    write = parse_write_request(body, request.headers.get("Content-Type"))
    streamed = wants_event_stream(request.headers.get("Accept"))
    fault = faults_of(request.app).draw_write(streamed=streamed, platforms=len(write.platforms))
    # An injected error answer comes before the idempotency store sees the key,
    # so the retry it calls for runs the write for real.
    refusal = fault.refusal() if fault is not None else None
    if refusal is not None:
        raise refusal
    run, replayed = state.begin_write(write, idempotency_key=idempotency_key)
    if fault is not None and fault.kind is FaultKind.SLOW_ANSWER:
        await asyncio.sleep(fault.delay)
        if request.transport is None or request.transport.is_closing():
            # The client gave up waiting (and may be retrying); aiohttp quietly
            # drops an answer to a closed connection, unlike a stream's headers.
            return web.Response(status=499)
    if streamed:
        return await _stream(
            request, run, replayed=replayed, ping_interval=state.config.ping_interval, fault=fault
        )
    await run.wait_finished()
    if fault is not None:
        faulted = await json_answer_with_fault(request, run, fault)
        if faulted is not None:
            return faulted
    if run.failure is not None:
        return _error_response(run.failure)
    if run.answer_text is None:
        message = "the sandbox stopped before this write finished; retry with the same key"
        return _error_response(ProtocolError(503, "service_unavailable", message))
    response = web.Response(text=run.answer_text, content_type="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def _stream(
    request: web.Request,
    run: WriteRun,
    *,
    replayed: bool,
    ping_interval: float,
    fault: WriteFault | None = None,
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            # Asks buffering proxies (nginx and the like) to pass events at once.
            "X-Accel-Buffering": "no",
        },
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    await response.prepare(request)
    # Last-Event-ID resumes a write already under way; a write that starts now
    # has no events yet that the client could have seen.
    cursor = last_event_id(request.headers.get("Last-Event-ID")) if replayed else 0
    if fault is not None:
        await stream_with_fault(
            request, response, run, fault, cursor=cursor, ping_interval=ping_interval
        )
        return response
    # A client that goes away stops only its own copy of the events; the write
    # itself runs on as a server task.
    with contextlib.suppress(ConnectionResetError):
        while True:
            events = run.events_after(cursor)
            if events:
                await response.write(b"".join(event.encode() for event in events))
                cursor = events[-1].id
            elif run.finished:
                break
            elif not await run.wait_for_change(ping_interval):
                await response.write(b": ping\n\n")
        await response.write_eof()
    return response


async def _get_published(request: web.Request) -> web.Response:
    state = state_of(request.app)
    body = {"posts": [post.to_json() for post in state.published()], **state.stats.to_json()}
    return web.json_response(body)


async def _delete_published(request: web.Request) -> web.Response:
    state_of(request.app).clear()
    faults_of(request.app).reset_counts()
    return web.Response(status=204)


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(faults_of(request.app).to_json())
