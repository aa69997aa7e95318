"""Incremental server-sent events decoder: bytes in, events out, no I/O.

The streaming answer of ``POST /v1/social/write`` is a ``text/event-stream``.
HTTP libraries hand us the body in arbitrary chunks, and their line readers
are no help: aiohttp's ``readline`` stops at 64 KiB and knows nothing of a
lone CR as a line end, while a ``done`` event carrying the results of twenty
platforms can be far larger. So this module implements the WHATWG parsing
rules (https://html.spec.whatwg.org/multipage/server-sent-events.html) itself,
as a pure state machine that the transport feeds and the tests drive directly.

Why bytes, not text, inside: CR and LF are single bytes that never occur inside
a UTF-8 sequence, so lines can be cut in the byte stream and each piece decoded
once, on its own. That gives the same text as decoding the whole stream first
(an invalid or truncated sequence before a line end becomes U+FFFD either way),
lets the size cap count real bytes, and leaves the line splitting to
``bytes.splitlines``, which breaks at exactly CR, LF and CRLF in C.

Why no quadratic work: each chunk is split once; the tail of an unfinished
line is kept as a list of pieces and joined once, when its line end arrives;
the ``data`` lines of an event are kept as a list and joined and decoded once,
when the event is dispatched.

Why ``bytes.find`` rather than ``in``: on CPython up to 3.12 at least,
``needle in haystack`` first tries the needle as an integer (``65 in b"A"``)
and builds and discards a ``TypeError`` when it is bytes; ``find`` does not.

Why a fast path: servers, the sandbox included, send whole events with LF line
ends, and a chunk usually holds one or more of them, each ``id``, ``event``
and one ``data`` line. Such a chunk is cut at its blank lines, and each event
in that common shape is read by a few prefix tests instead of a Python step
per line; an event in any other shape (comments, several ``data`` lines,
``retry``) goes through the general line loop. Both give the same events: the
tests compare them on random streams.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple, NoReturn

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEDecodeError", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
"""The default cap, in bytes, on one event's data and on any one line."""

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D
_LF = 0x0A


class SSEDecodeError(ValueError):
    """The event stream cannot be decoded safely (an event or line over the size cap).

    Once a decoder has raised this error, every later call to it raises again:
    the stream is no longer in a known state and must be abandoned.
    """


class ServerSentEvent(NamedTuple):
    r"""One dispatched server-sent event.

    A named tuple: one is made per event, and a tuple is the cheapest
    immutable record to make.

    Args:
        event: the event type; ``"message"`` when the event had no ``event`` field.
        data: the ``data`` lines of the event, joined with ``"\n"``.
        id: the last event id in effect when the event was dispatched: the
            value of the latest valid ``id`` field of the stream, even one sent
            with an earlier event, ``""`` once the server reset it with an empty
            ``id`` field, and ``None`` while the stream has sent none.
        retry: the reconnection time in milliseconds from a valid ``retry``
            field of this event, or ``None``.

    Example:
        >>> ServerSentEvent(event="done", data="{}", id="4")
        ServerSentEvent(event='done', data='{}', id='4', retry=None)
    """

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


_NO_TYPES: frozenset[bytes] = frozenset()
# The lines of an event in the common shape before its data: an optional
# ``id`` line (without NUL, which the general loop ignores), an optional
# ``event`` line, and the ``data`` field's name, one optional space after
# each colon (as the general loop strips it). The data itself is found with
# ``bytes.find``, not matched byte by byte.
_EVENT_HEAD = re.compile(rb"(?:id: ?([^\n\x00]*)\n)?(?:event: ?([^\n]*)\n)?data: ?")


def _common_event(block: bytes, start: int, end: int) -> re.Match[bytes] | None:
    """Match the event in ``block[start:end]`` if it has the common shape, else ``None``.

    The common shape: the lines `_EVENT_HEAD` matches, then one ``data``
    line running to ``end``. The match's groups are the id and the type
    (``None`` when the line is absent); the data starts at its ``end()``.
    """
    head = _EVENT_HEAD.match(block, start, end)
    if head is None or block.find(b"\n", head.end(), end) >= 0:
        return None
    return head


@functools.lru_cache(maxsize=32)
def _type_set(names: tuple[str, ...]) -> frozenset[bytes]:
    """Event type names as the raw field values they match (``""`` is ``message``)."""
    return frozenset(name.encode() or b"message" for name in names)


@functools.lru_cache(maxsize=32)
def _wanted_line_for(wanted: frozenset[bytes]) -> re.Pattern[bytes] | None:
    """A pattern for the lines, after a line end, that `SSEDecoder._feed_selected` looks for.

    Those are an ``event`` line of a ``wanted`` type and the start of a
    ``retry`` line, in one pattern that scans a chunk once. ``None`` when
    ``message`` is wanted: an event without an ``event`` line is a
    "message", and no line announces it. Cached: a program decodes its
    streams with one or two sets of types.
    """
    if b"message" in wanted:
        return None
    names = b"|".join(re.escape(name) for name in sorted(wanted))
    return re.compile(rb"\n(?:retry|event: ?(?:" + names + rb")\n)")


class SSEDecoder:
    r"""Turn the bytes of one ``text/event-stream`` body into events, incrementally.

    Feed it the body's chunks as they arrive, whatever their boundaries; it
    returns each event as soon as its terminating blank line is complete.
    It is not thread-safe and holds no I/O resources.

    Args:
        max_event_size: the cap, in bytes, on the joined ``data`` of one event
            and on any single line. Going over it raises `SSEDecodeError`, so a
            misbehaving server cannot make the client buffer without bound.
        ignore_types: event types to skip: their events are not built nor
            returned, which saves the work for a caller that would drop them.
            Their ``id`` fields still count for `last_event_id`, and their data
            still counts against the cap. ``""`` stands for ``"message"``, the
            type of an event whose ``event`` field is missing or empty.
        only_types: when given, the only event types to return; every other
            type is skipped as if listed in ``ignore_types``. A chunk of whole
            events that holds none of these types is then not parsed event
            by event at all: only its last ``id`` is looked up.

    Raises:
        ValueError: if ``max_event_size`` is not positive.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b"id: 1\nevent: status\ndata: {}\n")
        []
        >>> decoder.feed(b"\n")
        [ServerSentEvent(event='status', data='{}', id='1', retry=None)]
        >>> decoder.close()
        []
    """

    __slots__ = (
        "_closed",
        "_data",
        "_data_size",
        "_event_retry",
        "_event_type",
        "_failure",
        "_id_buffer",
        "_ignored",
        "_last_event_id",
        "_max_event_size",
        "_partial",
        "_partial_size",
        "_retry",
        "_skip_lf",
        "_start_bytes",
        "_wanted",
        "_wanted_line",
    )

    def __init__(
        self,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        *,
        ignore_types: Iterable[str] = (),
        only_types: Iterable[str] | None = None,
    ) -> None:
        if max_event_size <= 0:
            msg = f"max_event_size must be a positive number of bytes, not {max_event_size!r}"
            raise ValueError(msg)
        self._max_event_size = max_event_size
        # Compared with the raw field value: an event without a type is "message".
        self._ignored = _type_set(tuple(ignore_types)) if ignore_types != () else _NO_TYPES
        self._wanted: frozenset[bytes] | None = None
        # The line a chunk holding a wanted event has (see `_wanted_line_for`).
        self._wanted_line: re.Pattern[bytes] | None = None
        self.select(only_types)
        # The first bytes of the stream, held back until we know whether they
        # are a BOM; None once the stream start has been handled.
        self._start_bytes: bytes | None = b""
        # A chunk ended with CR: an LF opening the next chunk belongs to it.
        self._skip_lf = False
        # Pieces of the line still waiting for its line end.
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._data: list[bytes] = []
        # Bytes of the joined data so far, plus one (a separator per line).
        self._data_size = 0
        self._event_type = b""
        self._event_retry: int | None = None
        self._id_buffer: str | None = None
        self._last_event_id: str | None = None
        self._retry: int | None = None
        self._failure: str | None = None
        self._closed = False

    def select(self, only_types: Iterable[str] | None) -> None:
        r"""Change which event types are returned, from the next event dispatched on.

        Args:
            only_types: as the constructor's: the only types to return, or
                ``None`` for every type not in ``ignore_types``.

        Example:
            >>> decoder = SSEDecoder(only_types=["done"])
            >>> decoder.feed(b"event: status\ndata: 1\n\n")
            []
            >>> decoder.select(["status", "done"])
            >>> decoder.feed(b"event: status\ndata: 2\n\n")
            [ServerSentEvent(event='status', data='2', id=None, retry=None)]
        """
        if only_types is None:
            self._wanted = None
            self._wanted_line = None
        else:
            self._wanted = _type_set(tuple(only_types))
            self._wanted_line = _wanted_line_for(self._wanted)

    @property
    def last_event_id(self) -> str | None:
        """The last event id of the stream, to send as ``Last-Event-ID`` when resuming.

        Set when an event is dispatched, from the latest valid ``id`` field
        (a blank line after an ``id`` field with no ``data`` sets it too, as the
        spec says). ``None`` while the stream has sent no ``id`` field.
        """
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds of the latest valid ``retry`` field, or None."""
        return self._retry

    @property
    def max_event_size(self) -> int:
        """The cap, in bytes, on one event's data and on any single line."""
        return self._max_event_size

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:  # noqa: C901 - the hot path, in one frame
        """Decode the next chunk of the stream.

        Args:
            chunk: the next bytes of the body, of any length, cut anywhere
                (inside a line, between CR and LF, inside a UTF-8 sequence).

        Returns:
            The events this chunk completed, in stream order (often none).

        Raises:
            SSEDecodeError: an event's data or a line is over ``max_event_size``,
                or the decoder already failed.
            RuntimeError: the decoder was closed.
        """
        if self._failure is not None:
            raise SSEDecodeError(self._failure)
        if self._closed:
            msg = "this SSEDecoder was closed; decode a new stream with a new SSEDecoder"
            raise RuntimeError(msg)
        if not chunk:
            return []
        if self._start_bytes is not None:
            start = self._start_bytes + chunk if self._start_bytes else chunk
            if len(start) < len(_BOM) and _BOM.startswith(start):
                self._start_bytes = start
                return []
            self._start_bytes = None
            chunk = start[len(_BOM) :] if start.startswith(_BOM) else start
            if not chunk:
                return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if self._takes_whole_events(chunk):
            return self._feed_whole_events(chunk)
        return self._feed_lines(chunk)

    def _takes_whole_events(self, chunk: bytes) -> bool:
        """Whether the fast path applies: no event or line under way, whole LF-only events."""
        return (
            not self._partial
            and not self._data
            and not self._event_type
            and self._event_retry is None
            and chunk.endswith(b"\n\n")
            and len(chunk) <= self._max_event_size
            and chunk.find(b"\r") < 0
        )

    def _feed_whole_events(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode a chunk of whole events: cut at blank lines, each event read at once.

        The chunk is no larger than the cap, so neither is any of its lines or
        events; and no line ends with a CR, so two LFs are exactly a line end
        followed by a blank line: the blocks between them are the events' lines.
        """
        if self._wanted is not None and self._wanted_line is not None:
            selected = self._feed_selected(chunk, self._wanted, self._wanted_line)
            if selected is not None:
                return selected
        events: list[ServerSentEvent] = []
        ignored = self._ignored
        wanted = self._wanted
        for block in chunk[:-2].split(b"\n\n"):
            head = _common_event(block, 0, len(block))
            if head is None:
                lines = block.split(b"\n")
                lines.append(b"")
                self._process(lines, events)
                continue
            event_id, event_type = head.group(1, 2)
            data = block[head.end() :]
            if event_id is not None:
                self._id_buffer = event_id.decode("utf-8", "replace")
            self._last_event_id = self._id_buffer
            name = event_type or b"message"
            if name in ignored or (wanted is not None and name not in wanted):
                continue
            events.append(
                ServerSentEvent(
                    event=event_type.decode("utf-8", "replace") if event_type else "message",
                    data=data.decode("utf-8", "replace"),
                    id=self._id_buffer,
                )
            )
        return events

    def _feed_selected(
        self, chunk: bytes, wanted: frozenset[bytes], wanted_line: re.Pattern[bytes]
    ) -> list[ServerSentEvent] | None:
        """Decode whole events when only some types are wanted, in a few steps per chunk.

        The common case: no wanted event before the chunk's last one, no
        ``retry`` field (both found by one search for ``wanted_line``; an
        ``event`` or ``retry`` line opening the chunk is checked apart), and
        a last event in the common shape. Then only the last event is read,
        and the ids before it only when it has none of its own. Returns
        ``None``, having changed nothing, for any other chunk: the caller
        reads it event by event.
        """
        end = len(chunk) - 2
        last = chunk.rfind(b"\n\n", 0, end) + 2
        if last == 1:  # no blank line before the end: the chunk is one event
            last = 0
        if chunk.startswith((b"event:", b"retry")):
            return None
        found = wanted_line.search(chunk)
        # Found before the line end that opens the last event: in an earlier one.
        if found is not None and found.start() < last - 1:
            return None
        head = _common_event(chunk, last, end)
        if head is None:
            return None
        event_id, event_type = head.group(1, 2)
        if event_id is not None:
            self._id_buffer = event_id.decode("utf-8", "replace")
        elif last and not self._scan_ids(chunk[:last]):
            return None
        self._last_event_id = self._id_buffer
        name = event_type or b"message"
        if name not in wanted or name in self._ignored:
            return []
        return [
            ServerSentEvent(
                event_type.decode("utf-8", "replace") if event_type else "message",
                chunk[head.end() : end].decode("utf-8", "replace"),
                self._id_buffer,
            )
        ]

    def _scan_ids(self, chunk: bytes) -> bool:
        """Take whole events holding no wanted event and no ``retry`` field: keep the last id.

        Every event of the chunk is complete, so each was dispatched by its
        end: the id in effect after it is that of the chunk's last ``id``
        line. Returns ``False``, having changed nothing, when the chunk needs
        the line-by-line reading after all (a field whose name only starts
        with ``id``, an id holding NUL). The caller, `_feed_selected`, has
        already made sure the chunk has no ``retry`` field.
        """
        at = chunk.rfind(b"\nid")
        start = at + 1 if at >= 0 else (0 if chunk.startswith(b"id") else -1)
        if start >= 0:
            line = chunk[start : chunk.index(b"\n", start)]
            if line == b"id":
                value = b""
            elif line.startswith(b"id:"):
                value = line[4:] if line.startswith(b"id: ") else line[3:]
                if value.find(b"\x00") >= 0:
                    return False
            else:
                return False
            self._id_buffer = value.decode("utf-8", "replace")
        self._last_event_id = self._id_buffer
        return True

    def _feed_lines(self, chunk: bytes) -> list[ServerSentEvent]:  # noqa: C901 - see feed
        """Decode any chunk, line by line (the general path)."""
        lines = chunk.splitlines()
        last_byte = chunk[-1]
        tail: bytes | None = None
        if last_byte == _CR:
            self._skip_lf = True
        elif last_byte != _LF:
            tail = lines.pop()

        events: list[ServerSentEvent] = []
        if lines:
            if self._partial:
                self._partial.append(lines[0])
                lines[0] = b"".join(self._partial)
                self._partial = []
                self._partial_size = 0
                if len(lines[0]) > self._max_event_size:
                    self._fail_line(len(lines[0]))
            if len(chunk) > self._max_event_size:
                for line in lines:
                    if len(line) > self._max_event_size:
                        self._fail_line(len(line))
            self._process(lines, events)
        if tail is not None:
            self._partial.append(tail)
            self._partial_size += len(tail)
            if self._partial_size > self._max_event_size:
                self._fail_line(self._partial_size, unfinished=True)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End the stream and discard what is left unfinished.

        As the spec says, an event whose terminating blank line never came is
        not dispatched, and neither is an unterminated last line. Every line
        that did end (even with a lone CR at the very end of the stream) was
        already processed by `feed`, so nothing complete is ever lost here.

        Returns:
            The events completed at the end of the stream: always an empty list
            with this decoder, which dispatches each event as soon as its blank
            line ends; kept so callers can treat every decoder step alike.

        Raises:
            SSEDecodeError: the decoder already failed.
        """
        if self._failure is not None:
            raise SSEDecodeError(self._failure)
        self._closed = True
        self._start_bytes = None
        self._skip_lf = False
        self._partial = []
        self._partial_size = 0
        self._reset_event()
        return []

    def _process(  # noqa: C901 - one branch per field of the SSE spec, in the hot loop
        self, lines: list[bytes], events: list[ServerSentEvent]
    ) -> None:
        """Interpret complete lines, appending each dispatched event to ``events``."""
        # Hot loop: local names and inline field handling keep it cheap.
        data = self._data
        for line in lines:
            if not line:
                self._last_event_id = self._id_buffer
                if data:
                    name = self._event_type or b"message"
                    if name not in self._ignored and (self._wanted is None or name in self._wanted):
                        events.append(self._build_event(data))
                    data = self._data = []
                    self._data_size = 0
                self._event_type = b""
                self._event_retry = None
                continue
            colon = line.find(b":")
            if colon == 0:
                continue
            if colon < 0:
                name = line
                value = b""
            else:
                name = line[:colon]
                value = line[colon + 2 :] if line.startswith(b" ", colon + 1) else line[colon + 1 :]
            if name == b"data":
                data.append(value)
                self._data_size += len(value) + 1
                if self._data_size - 1 > self._max_event_size:
                    self._fail_event(self._data_size - 1)
            elif name == b"event":
                self._event_type = value
            elif name == b"id":
                if value.find(b"\x00") < 0:
                    self._id_buffer = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():
                try:
                    retry = int(value)
                except ValueError:
                    # Beyond Python's int-from-string digit limit: no sane
                    # reconnection time, so ignore it like any invalid retry.
                    continue
                self._retry = self._event_retry = retry

    def _build_event(self, data: list[bytes]) -> ServerSentEvent:
        """Make the event of the data lines gathered since the last dispatch."""
        raw = data[0] if len(data) == 1 else b"\n".join(data)
        event_type = self._event_type
        return ServerSentEvent(
            event=event_type.decode("utf-8", "replace") if event_type else "message",
            data=raw.decode("utf-8", "replace"),
            id=self._id_buffer,
            retry=self._event_retry,
        )

    def _reset_event(self) -> None:
        """Forget the event being gathered."""
        self._data = []
        self._data_size = 0
        self._event_type = b""
        self._event_retry = None

    def _fail_line(self, size: int, *, unfinished: bool = False) -> NoReturn:
        """Fail the decoder because one line is over the cap."""
        what = f"an unfinished line of {size} bytes so far" if unfinished else f"a {size}-byte line"
        self._fail(
            f"server-sent event stream has {what}, over the cap of "
            f"{self._max_event_size} bytes (raise max_event_size to accept it)"
        )

    def _fail_event(self, size: int) -> NoReturn:
        """Fail the decoder because one event's data is over the cap."""
        self._fail(
            f"server-sent event has at least {size} bytes of data, over the cap of "
            f"{self._max_event_size} bytes (raise max_event_size to accept it)"
        )

    def _fail(self, message: str) -> NoReturn:
        """Remember the failure, drop the buffers, and raise."""
        self._failure = message
        self._partial = []
        self._partial_size = 0
        self._reset_event()
        raise SSEDecodeError(message)
