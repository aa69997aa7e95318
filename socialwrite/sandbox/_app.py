"""The sandbox's API application: the write's routes, and the factory that builds it.

Handlers stay thin: validation lives in ``_validation``, keys in
``_idempotency`` (through ``_state``), the publish in ``_publisher``, faults in
``_faults`` and the media uploads in ``_uploads``; this module turns requests
into calls to those and their outcomes into HTTP. The HTTP layer (``_http``)
checks the API key, stamps every answer with a fresh ``X-Request-Id`` and
answers every error with the protocol's JSON body (the flat body of many real
services in the vendor-compatible mode, ``SandboxConfig.compat``, which also
answers JSON only and has no upload routes).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import hdrs, web

from .._protocol import (
    ACCEPT_STREAM,
    HEADER_IDEMPOTENCY_KEY,
    HEADER_IDEMPOTENT_REPLAYED,
    HEADER_LAST_EVENT_ID,
    WRITE_PATH,
)
from ._config import SandboxConfig
from ._faults import (
    FaultInjector,
    WriteFault,
    json_answer_with_fault,
    refusal_response,
    stream_with_fault,
)
from ._faults_config import FaultKind
from ._http import error_response, protocol_app, require_api_key
from ._protocol import ProtocolError
from ._runs import PING, WriteRun
from ._state import SandboxState
from ._uploads import setup_uploads
from ._validation import (
    check_idempotency_key,
    last_event_id,
    parse_write_request,
    wants_event_stream,
)

__all__ = ["faults_of", "make_app", "state_of"]

# The sandbox's own endpoints: the posts published (GET; DELETE clears them), and
# the faults in force with the counts of those injected.
_PUBLISHED_PATH = "/v1/sandbox/published"
_FAULTS_PATH = "/v1/sandbox/faults"

_STATE = web.AppKey("socialwrite_sandbox_state", SandboxState)
_FAULTS = web.AppKey("socialwrite_sandbox_faults", FaultInjector)


def make_app(config: SandboxConfig | None = None) -> web.Application:
    """Build the sandbox's aiohttp application.

    Usable on its own with aiohttp's runners or test tools
    (``aiohttp.test_utils.TestServer(make_app(config))``); use :func:`state_of`
    to read what it published and :func:`faults_of` to change its faults.

    Args:
        config: the sandbox's behaviour; the defaults when ``None``.
    """
    state = SandboxState(config if config is not None else SandboxConfig())
    faults = FaultInjector(state.config.faults)
    compat = state.config.compat
    app = protocol_app(
        require_api_key(state.config.api_key),
        flat_errors=compat,
        escape_sequences=state.config.faults.escape_sequences,
    )
    app[_STATE] = state
    app[_FAULTS] = faults
    app.router.add_post(WRITE_PATH, _post_write)
    app.router.add_get(_PUBLISHED_PATH, _get_published, allow_head=False)
    app.router.add_delete(_PUBLISHED_PATH, _delete_published)
    app.router.add_get(_FAULTS_PATH, _get_faults, allow_head=False)
    # Many real services take media as URLs only: in the vendor-compatible
    # mode, POST /v1/media/uploads is a 404 like any unknown path.
    if not compat:
        uploads = setup_uploads(app, state.config.uploads)
        uploads.put_fault = faults.draw_put
        state.media_lookup = uploads.media_facts
    app.on_shutdown.append(_stop_writes)
    return app


def state_of(app: web.Application) -> SandboxState:
    """Return the state of an application made by :func:`make_app`."""
    return app[_STATE]


def faults_of(app: web.Application) -> FaultInjector:
    """Return the fault injector of an application made by :func:`make_app`."""
    return app[_FAULTS]


async def _stop_writes(app: web.Application) -> None:
    await app[_STATE].aclose()


async def _post_write(request: web.Request) -> web.StreamResponse:
    state = state_of(request.app)
    compat = state.config.compat
    # A connection is known by its client address and port (an ephemeral port
    # is not reused while the connection is open).
    transport = request.transport
    state.ledger.count_received(None if transport is None else transport.get_extra_info("peername"))
    idempotency_key = check_idempotency_key(request.headers.get(HEADER_IDEMPOTENCY_KEY))
    body = await request.read()
    write = parse_write_request(body, request.headers.get(hdrs.CONTENT_TYPE))
    # The vendor-compatible mode answers JSON whatever the client accepts.
    streamed = not compat and wants_event_stream(request.headers.get(hdrs.ACCEPT))
    fault = faults_of(request.app).draw_write(streamed=streamed, platforms=len(write.platforms))
    # An injected error answer comes before the idempotency store sees the key,
    # so the retry it calls for runs the write for real.
    hostile = state.config.faults.escape_sequences
    refusal = (
        None if fault is None else refusal_response(fault, flat=compat, escape_sequences=hostile)
    )
    if refusal is not None:
        return refusal
    # Last-Event-ID is always honoured (protocol.md): a write it starts (its key
    # expired, or was never seen) numbers its events past it.
    cursor = last_event_id(request.headers.get(HEADER_LAST_EVENT_ID)) if streamed else 0
    run, replayed = state.begin_write(write, idempotency_key=idempotency_key, after_event=cursor)
    if fault is not None and fault.kind is FaultKind.SLOW_ANSWER:
        await asyncio.sleep(fault.delay)
        if request.transport is None or request.transport.is_closing():
            # The client gave up waiting (and may be retrying); aiohttp quietly
            # drops an answer to a closed connection, unlike a stream's headers.
            return web.Response(status=499)
    if streamed:
        return await _stream(
            request,
            run,
            cursor=cursor,
            replayed=replayed,
            ping_interval=state.config.ping_interval,
            fault=fault,
        )
    return await _json_answer(
        request, run, replayed=replayed, fault=fault, flat=compat, escape_sequences=hostile
    )


async def _json_answer(
    request: web.Request,
    run: WriteRun,
    *,
    replayed: bool,
    fault: WriteFault | None,
    flat: bool,
    escape_sequences: bool,
) -> web.StreamResponse:
    await run.wait_finished()
    if fault is not None:
        faulted = await json_answer_with_fault(request, run, fault)
        if faulted is not None:
            return faulted
    if run.failure is not None:
        return error_response(run.failure, flat=flat, escape_sequences=escape_sequences)
    if run.answer_text is None:
        message = "the sandbox stopped before this write finished; retry with the same key"
        error = ProtocolError(503, "service_unavailable", message)
        return error_response(error, flat=flat, escape_sequences=escape_sequences)
    response = web.Response(text=run.answer_text, content_type="application/json")
    if replayed:
        response.headers[HEADER_IDEMPOTENT_REPLAYED] = "true"
    return response


async def _stream(
    request: web.Request,
    run: WriteRun,
    *,
    cursor: int,
    replayed: bool,
    ping_interval: float,
    fault: WriteFault | None = None,
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={
            hdrs.CONTENT_TYPE: ACCEPT_STREAM,
            hdrs.CACHE_CONTROL: "no-cache",
            # Asks buffering proxies (nginx and the like) to pass events at once.
            "X-Accel-Buffering": "no",
        },
    )
    if replayed:
        response.headers[HEADER_IDEMPOTENT_REPLAYED] = "true"
    await response.prepare(request)
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
                if events[-1].is_final:
                    break
                cursor = events[-1].id
            elif run.finished:
                break
            elif not await run.wait_for_change(ping_interval):
                await response.write(PING)
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
