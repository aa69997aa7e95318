"""Fault injection: how a running sandbox misbehaves on purpose, and counts it.

The settings are a :class:`~socialwrite.sandbox.Faults` (``_faults_config``);
this module applies them. Why it is built this way:

* **One injector per sandbox, safe from any thread.** Tests run the sandbox on
  a thread of its own (``Sandbox.run_in_thread``) and change its faults from
  theirs, mid-run. Every draw and every change holds one lock, and a draw
  never awaits, so a change lands between two requests, never inside one.
* **Decided once per request, applied where it belongs.** The write handler
  asks for a fault once it has read and checked the request, and before it
  touches the idempotency store: an error answer (503, 429) therefore leaves
  nothing recorded, and a retry runs the write for real. Faults that hit the
  answer (a drop, a cut stream, bad JSON, slowness) come after the write was
  started, so what was published is exactly what a retry must find.
* **Deterministic.** The random mix draws from generators seeded with
  ``Faults.seed``, one for writes and one for upload ``PUT`` requests, so
  the same requests in the same order get the same faults however uploads and
  writes interleave.
* **Counted.** Every fault injected is counted by kind
  (:meth:`FaultInjector.injected`), so a test can tell which faults its client
  actually met.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from email.utils import formatdate
from types import MappingProxyType
from typing import Any

import attrs
from aiohttp import web

from .._protocol import EVENT_DONE, HEADER_RETRY_AFTER
from ._faults_config import COUNTED_FIELDS, STREAM_ONLY_KINDS, WRITE_KINDS, FaultKind, Faults
from ._http import error_response, proxy_page
from ._protocol import ProtocolError
from ._runs import PING, RecordedEvent, WriteRun

__all__ = [
    "FaultInjector",
    "WriteFault",
    "abort_connection",
    "json_answer_with_fault",
    "refusal_response",
    "stream_with_fault",
]


# The counted fields that hit writes, with the kind each injects (``fail_writes``
# depends on its status, so it is resolved per draw).
_WRITE_COUNTED: tuple[str, ...] = tuple(name for name in COUNTED_FIELDS if name != "drop_puts")
_KIND_OF_COUNTED: Mapping[str, FaultKind] = {
    "slow_writes": FaultKind.SLOW_ANSWER,
    "drop_after_publish": FaultKind.DROP_AFTER_PUBLISH,
    "truncate_streams": FaultKind.TRUNCATED_STREAM,
    "trickle_streams": FaultKind.SLOW_STREAM,
    "malformed_answers": FaultKind.MALFORMED_ANSWER,
}
_STATUS_CODES: Mapping[int, tuple[str, str]] = {
    429: ("rate_limited", "too many requests"),
    500: ("internal_error", "the service failed"),
    502: ("bad_gateway", "an upstream service failed"),
    503: ("service_unavailable", "the service is unavailable"),
    504: ("gateway_timeout", "an upstream service timed out"),
}


@attrs.frozen(kw_only=True)
class WriteFault:
    """The fault one write request gets.

    Attributes:
        kind: what happens.
        status: the error status to answer with, for the error kinds.
        retry_after: the ``Retry-After`` seconds of a ``429``.
        retry_after_date: send ``Retry-After`` as an HTTP-date.
        html: answer the error with a proxy's HTML page, not a JSON body.
        delay: seconds before the headers (slow answer), or before each event
            (slow stream).
        events: how many events a dropped or truncated stream sends.
    """

    kind: FaultKind
    status: int | None = None
    retry_after: float | None = None
    retry_after_date: bool = False
    html: bool = False
    delay: float = 0.0
    events: int = 0

    def refusal(self, *, now: Callable[[], float] = time.time) -> ProtocolError | None:
        """Return the error answer that replaces the write, or ``None`` if the write runs.

        Args:
            now: the wall clock, for an HTTP-date ``Retry-After``.
        """
        if self.status is None:
            return None
        code, what = _STATUS_CODES[self.status]
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers[HEADER_RETRY_AFTER] = (
                formatdate(now() + self.retry_after, usegmt=True)
                if self.retry_after_date
                else _seconds_text(self.retry_after)
            )
        # No "sandbox" in the text: it is the default API key, which clients
        # rightly redact from every message.
        message = (
            f"{what} (an injected fault); nothing was recorded: retry with the same Idempotency-Key"
        )
        return ProtocolError(self.status, code, message, headers=headers)


def refusal_response(
    fault: WriteFault, *, flat: bool = False, escape_sequences: bool = False
) -> web.Response | None:
    """Return the error answer that replaces the write, or ``None`` if the write runs.

    Args:
        fault: the write's fault.
        flat: a JSON error in the flat shape (the vendor-compatible mode).
        escape_sequences: put terminal escape sequences into the JSON error's
            ``message``.
    """
    refusal = fault.refusal()
    if refusal is None:
        return None
    if fault.html:
        return proxy_page(refusal.status)
    return error_response(refusal, flat=flat, escape_sequences=escape_sequences)


def _seconds_text(seconds: float) -> str:
    # Whole seconds as RFC 9110 writes them; a fraction only when one was asked for.
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


def _generator(seed: int, stream: str) -> random.Random:
    # Reproducible draws, not secrets. A string seed is hashed with SHA-512, so
    # it is stable across runs and Python versions, unlike hash() of a tuple.
    return random.Random(f"socialwrite-faults/{seed}/{stream}")  # noqa: S311


def corrupt_json(text: str) -> str:
    """Cut a JSON object's text in half: never valid JSON, since only its last byte closes it."""
    return text[: len(text) // 2]


class FaultInjector:
    """The faults in force on one sandbox, and how many of each it injected.

    Thread-safe: :meth:`set_faults`, :meth:`injected`, :meth:`remaining` and
    :meth:`reset_counts` may be called from any thread while the server draws
    faults on its own loop.

    Args:
        faults: the faults in force when the sandbox starts.
    """

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._injected: Counter[FaultKind] = Counter()
        self._faults: Faults
        self._remaining: dict[str, int]
        self._write_random: random.Random
        self._put_random: random.Random
        self._install(faults)

    def _install(self, faults: Faults) -> None:
        self._faults = faults
        self._remaining = dict(faults.counted)
        self._write_random = _generator(faults.seed, "writes")
        self._put_random = _generator(faults.seed, "puts")

    @property
    def faults(self) -> Faults:
        """The faults in force now."""
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Put ``faults`` in force from the next request on. Thread-safe.

        The counted faults start again from ``faults``' counts and the random
        mix from its seed; the counts of faults already injected are kept.
        """
        with self._lock:
            self._install(faults)

    def remaining(self) -> Mapping[str, int]:
        """Return the counted faults not used yet, by field name of :class:`Faults`."""
        with self._lock:
            return MappingProxyType(dict(self._remaining))

    def injected(self) -> Mapping[str, int]:
        """Return how many faults of each kind were injected, by kind name.

        Every kind is there, zeros included, in the order of :class:`FaultKind`;
        a :class:`FaultKind` member finds its count too (it equals its name).
        """
        with self._lock:
            return MappingProxyType({kind.value: self._injected[kind] for kind in FaultKind})

    def reset_counts(self) -> None:
        """Set the counts of injected faults back to zero."""
        with self._lock:
            self._injected.clear()

    def to_json(self) -> dict[str, Any]:
        """Return the settings, the counted faults left and the counts, for the HTTP endpoint."""
        with self._lock:
            return {
                "faults": self._faults.to_json(),
                "remaining": dict(self._remaining),
                "injected": {kind.value: self._injected[kind] for kind in FaultKind},
            }

    # -- draws, on the server's loop ----------------------------------------------------

    def draw_write(self, *, streamed: bool, platforms: int) -> WriteFault | None:
        """Decide the fault of one write request (``None``: answer it normally).

        Args:
            streamed: whether the request asked for the event stream.
            platforms: how many platforms it names (bounds a drawn event count).
        """
        with self._lock:
            faults = self._faults
            for name in _WRITE_COUNTED:
                if self._remaining[name] == 0:
                    continue
                kind = self._counted_kind(name, faults)
                if kind in STREAM_ONLY_KINDS and not streamed:
                    continue
                self._remaining[name] -= 1
                return self._make(kind, faults, platforms)
            if not faults.chaos:
                return None
            draw = self._write_random.random()
            threshold = 0.0
            for kind in WRITE_KINDS:
                probability = faults.chaos.get(kind, 0.0)
                if probability == 0.0:
                    continue
                threshold += probability
                if draw < threshold:
                    if kind in STREAM_ONLY_KINDS and not streamed:
                        return None
                    return self._make(kind, faults, platforms)
            return None

    def draw_put(self, length: int) -> int | None:
        """Decide where to cut one upload ``PUT`` whose body is ``length`` bytes.

        Returns:
            How many bytes to keep before the connection is cut, or ``None``
            to let the ``PUT`` through.
        """
        with self._lock:
            faults = self._faults
            counted = self._remaining["drop_puts"] > 0
            if not counted:
                probability = faults.chaos.get(FaultKind.DROPPED_PUT, 0.0)
                if probability == 0.0 or self._put_random.random() >= probability:
                    return None
            if faults.drop_put_after is not None:
                cut = faults.drop_put_after
                if cut >= length:
                    return None
            else:
                # At least one byte arrives when the body has two or more, so a
                # resume always makes progress.
                cut = self._put_random.randrange(1, length) if length > 1 else 0
            if counted:
                self._remaining["drop_puts"] -= 1
            self._injected[FaultKind.DROPPED_PUT] += 1
            return cut

    @staticmethod
    def _counted_kind(name: str, faults: Faults) -> FaultKind:
        if name != "fail_writes":
            return _KIND_OF_COUNTED[name]
        if faults.fail_status != 429:
            return FaultKind.SERVER_ERROR
        return FaultKind.RATE_LIMITED_DATE if faults.retry_after_date else FaultKind.RATE_LIMITED

    def _events(self, configured: int | None, platforms: int) -> int:
        if configured is not None:
            return configured
        # A write has at least a queued status, a publishing status and a
        # result per platform before its done event.
        return self._write_random.randrange(0, 3 * platforms + 1)

    def _make(self, kind: FaultKind, faults: Faults, platforms: int) -> WriteFault:
        self._injected[kind] += 1
        if kind is FaultKind.SERVER_ERROR:
            # A 429 is a rate limit, not a server error: the mix then answers 503.
            status = faults.fail_status if faults.fail_status != 429 else 503
            return WriteFault(kind=kind, status=status, html=faults.html_errors)
        if kind in (FaultKind.RATE_LIMITED, FaultKind.RATE_LIMITED_DATE):
            return WriteFault(
                kind=kind,
                status=429,
                retry_after=faults.retry_after,
                retry_after_date=kind is FaultKind.RATE_LIMITED_DATE,
            )
        if kind is FaultKind.SLOW_ANSWER:
            return WriteFault(kind=kind, delay=faults.answer_delay)
        if kind is FaultKind.SLOW_STREAM:
            return WriteFault(kind=kind, delay=faults.trickle_delay)
        if kind is FaultKind.DROP_AFTER_PUBLISH:
            return WriteFault(kind=kind, events=self._events(faults.drop_after_events, platforms))
        if kind is FaultKind.TRUNCATED_STREAM:
            events = self._events(faults.truncate_after_events, platforms)
            return WriteFault(kind=kind, events=events)
        return WriteFault(kind=kind)


# -- applying a fault to an answer (aiohttp) ---------------------------------------------


def abort_connection(request: web.Request) -> None:
    """Cut the request's connection at once, as a network failure would: no answer, no EOF."""
    if request.transport is not None:
        request.transport.abort()


async def json_answer_with_fault(
    request: web.Request, run: WriteRun, fault: WriteFault
) -> web.StreamResponse | None:
    """Answer a finished JSON-mode write as ``fault`` says; ``None`` to answer it normally.

    A dropped answer aborts the connection (the write is published); a
    malformed one sends the answer cut in half.
    """
    if fault.kind is FaultKind.DROP_AFTER_PUBLISH:
        abort_connection(request)
        # aiohttp finds the connection closed when it sends this, and lets it go.
        return web.Response(status=499)
    if fault.kind is FaultKind.MALFORMED_ANSWER and run.answer_text is not None:
        return web.Response(text=corrupt_json(run.answer_text), content_type="application/json")
    return None


def _encode(event: RecordedEvent, fault: WriteFault) -> bytes:
    if fault.kind is FaultKind.MALFORMED_ANSWER and event.name == EVENT_DONE:
        return RecordedEvent(event.id, event.name, corrupt_json(event.data)).encode()
    return event.encode()


def _half(event: RecordedEvent) -> bytes:
    encoded = event.encode()
    return encoded[: len(encoded) // 2]


async def _pause(response: web.StreamResponse, seconds: float, ping_interval: float) -> None:
    """Wait ``seconds``, sending a ``: ping`` after every ``ping_interval`` of silence."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if left > ping_interval:
            await asyncio.sleep(ping_interval)
            await response.write(PING)
        else:
            await asyncio.sleep(left)


async def stream_with_fault(
    request: web.Request,
    response: web.StreamResponse,
    run: WriteRun,
    fault: WriteFault,
    *,
    cursor: int,
    ping_interval: float,
) -> None:
    """Send a prepared event stream's events after ``cursor`` as ``fault`` says.

    * ``drop_after_publish``: wait until the write finished, send its first
      ``fault.events`` events (never the last) and half of the next one, then
      abort the connection.
    * ``truncated_stream``: send live events until ``fault.events`` were sent
      or ``done`` is next, then half of the next one, then end the stream
      cleanly.

    Half an event (no blank line ends it) is what a cut on the wire leaves; a
    client must not act on it, nor count its ``id`` as seen.
    * ``slow_stream``: wait ``fault.delay`` before each event, pinging.
    * ``malformed_answer``: the ``done`` event's data is cut in half.

    Other kinds stream normally. A client that goes away ends only this copy
    of the events; the write runs on.
    """
    try:
        if fault.kind is FaultKind.DROP_AFTER_PUBLISH:
            await run.wait_finished()
            remaining = run.events_after(cursor)
            whole = remaining[:-1][: fault.events]
            cut = _half(remaining[len(whole)]) if len(remaining) > len(whole) else b""
            await response.write(b"".join(event.encode() for event in whole) + cut)
            abort_connection(request)
            return
        await _stream_live(response, run, fault, cursor=cursor, ping_interval=ping_interval)
    except ConnectionResetError:
        return


async def _stream_live(
    response: web.StreamResponse,
    run: WriteRun,
    fault: WriteFault,
    *,
    cursor: int,
    ping_interval: float,
) -> None:
    """Send the events after ``cursor`` as they come, as ``fault`` says, then end the stream."""
    sent = 0
    while True:
        events = run.events_after(cursor)
        for event in events:
            if fault.kind is FaultKind.TRUNCATED_STREAM and (
                sent >= fault.events or event.is_final
            ):
                await response.write_eof(_half(event))
                return
            if fault.kind is FaultKind.SLOW_STREAM:
                await _pause(response, fault.delay, ping_interval)
            await response.write(_encode(event, fault))
            if event.is_final:
                await response.write_eof()
                return
            cursor = event.id
            sent += 1
        if events:
            continue
        if run.finished:
            break
        if not await run.wait_for_change(ping_interval):
            await response.write(PING)
    await response.write_eof()
