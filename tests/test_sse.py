"""Tests of the incremental server-sent events decoder."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialwrite._sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecodeError, SSEDecoder


def decode(*chunks: bytes, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> list[ServerSentEvent]:
    """Feed ``chunks`` to a fresh decoder, close it, and return every event."""
    decoder = SSEDecoder(max_event_size)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def split_at(stream: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Cut ``stream`` at the given offsets (any order, duplicates give empty chunks)."""
    chunks = []
    start = 0
    for cut in sorted(cuts):
        chunks.append(stream[start:cut])
        start = cut
    chunks.append(stream[start:])
    return chunks


def bytewise(stream: bytes) -> list[bytes]:
    """Cut ``stream`` into one-byte chunks."""
    return [stream[i : i + 1] for i in range(len(stream))]


def event(
    data: str, *, event: str = "message", last_id: str | None = None, retry: int | None = None
) -> ServerSentEvent:
    """Build an expected event with the decoder's defaults."""
    return ServerSentEvent(event=event, data=data, id=last_id, retry=retry)


# --- the basics -------------------------------------------------------------


def test_protocol_example_stream() -> None:
    """The protocol page's example stream decodes to its events."""
    stream = (
        b"id: 1\nevent: status\n"
        b'data: {"index": 1, "state": "processing"}\n\n'
        b": ping\n\n"
        b'id: 2\nevent: done\ndata: {"results": []}\n\n'
    )
    assert decode(stream) == [
        event('{"index": 1, "state": "processing"}', event="status", last_id="1"),
        event('{"results": []}', event="done", last_id="2"),
    ]


def test_event_type_defaults_to_message() -> None:
    """An event without an ``event`` field has the type ``message``."""
    assert decode(b"data: hi\n\n") == [event("hi")]


def test_event_type_does_not_leak_to_the_next_event() -> None:
    """The event type is reset after each dispatch."""
    assert decode(b"event: a\ndata: 1\n\ndata: 2\n\n") == [event("1", event="a"), event("2")]


def test_empty_event_field_means_message() -> None:
    """An empty ``event`` field, with or without a colon, gives the type ``message``."""
    assert decode(b"event: x\nevent\ndata: 1\n\nevent: x\nevent:\ndata: 2\n\n") == [
        event("1"),
        event("2"),
    ]


def test_multi_line_data_is_joined_with_newlines() -> None:
    """Several ``data`` lines join with LF, without a trailing LF."""
    assert decode(b"data: a\ndata:\ndata: c\n\n") == [event("a\n\nc")]


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_line_end_style(end: bytes) -> None:
    """LF, CR and CRLF each end a line."""
    stream = end.join([b"event: e", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    assert decode(stream) == [event("a\nb", event="e"), event("c")]


def test_mixed_line_ends_in_one_stream() -> None:
    """Line end styles can change from line to line."""
    assert decode(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r") == [
        event("a\nb\nc"),
        event("d"),
    ]


def test_other_line_break_characters_are_data() -> None:
    """Vertical tab, form feed, NEL, and the Unicode separators do not end lines."""
    text = "a\x0bb\x0cc\x1cd\u0085e\u2028f\u2029g"
    assert decode(b"data: " + text.encode() + b"\n\n") == [event(text)]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    """A CR ending one chunk and an LF starting the next make one line end."""
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [event("a\nb")]


def test_crlf_split_with_empty_chunks_between() -> None:
    """Empty chunks between a CR and its LF change nothing."""
    assert decode(b"data: a\r", b"", b"", b"\n", b"\r", b"", b"\n") == [event("a")]


def test_cr_then_cr_across_chunks_is_two_line_ends() -> None:
    """A CR after a CR at a chunk boundary is a blank line, not part of a CRLF."""
    assert decode(b"data: a\r", b"\rdata: b\r", b"\r") == [event("a"), event("b")]


def test_event_ending_in_a_lone_cr_is_dispatched_at_once() -> None:
    """A blank line ended by CR dispatches without waiting to see if LF follows."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [event("a")]
    assert decoder.feed(b"\ndata: b\n\n") == [event("b")]


def test_stream_is_decoded_the_same_byte_by_byte() -> None:
    """Feeding one byte at a time gives the same events as feeding all at once."""
    stream = (
        "\ufeffid: 7\r\nevent: résultat\r\ndata: ok ✓ 😀\r\n\r\n: ping\r"
        "data: a\rdata: b\r\rretry: 300\ndata\n\n"
    ).encode()
    expected = [
        event("ok ✓ 😀", event="résultat", last_id="7"),
        event("a\nb", last_id="7"),
        event("", last_id="7", retry=300),
    ]
    assert decode(stream) == expected
    assert decode(*bytewise(stream)) == expected


# --- fields -----------------------------------------------------------------


def test_one_space_after_the_colon_is_stripped() -> None:
    """Only a single leading space of the value is removed."""
    assert decode(b"data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n") == [
        event("x"),
        event("x"),
        event(" x"),
        event("\tx"),
    ]


def test_value_is_everything_after_the_first_colon() -> None:
    """Later colons belong to the value."""
    assert decode(b"data: a: b:c\n\n") == [event("a: b:c")]


def test_field_without_colon_has_an_empty_value() -> None:
    """A line with no colon is a field name with an empty value."""
    assert decode(b"data\n\n", b"data\ndata\n\n") == [event(""), event("\n")]


def test_data_field_with_empty_value_dispatches_an_empty_event() -> None:
    """``data:`` alone still makes the data buffer non-empty, so the event is sent."""
    assert decode(b"event: ping\ndata:\n\n") == [event("", event="ping")]


def test_event_without_data_is_not_dispatched() -> None:
    """A block with no ``data`` field dispatches nothing."""
    assert decode(b"event: status\n\nid: 3\n\nretry: 10\n\n\n\n") == []


def test_unknown_fields_are_ignored() -> None:
    """Unknown field names, and names in another case, are ignored."""
    assert decode(b"foo: bar\nDATA: no\nData: no\n data: no\ndata: yes\nevents: x\n\n") == [
        event("yes")
    ]


def test_field_names_are_matched_exactly() -> None:
    """A field name must match with no surrounding space."""
    assert decode(b"data : no\nevent : no\nid : 1\ndata: yes\n\n") == [event("yes")]


def test_comment_lines_are_ignored() -> None:
    """Comments are skipped wherever they come."""
    assert decode(b": hello\n:\n:data: no\ndata: a\n: ping\n\n: only a comment\n\n") == [event("a")]


def test_comments_reset_nothing() -> None:
    """A comment inside an event keeps its data, type, id and retry."""
    stream = b"event: e\nid: 1\nretry: 5\ndata: a\n: keep-alive\ndata: b\n: more\n\n"
    assert decode(stream) == [event("a\nb", event="e", last_id="1", retry=5)]


# --- id ---------------------------------------------------------------------


def test_last_event_id_is_none_before_any_id() -> None:
    """Without an ``id`` field, events and the decoder report no id."""
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    assert decoder.feed(b"data: a\n\n") == [event("a")]
    assert decoder.last_event_id is None


def test_id_carries_over_to_later_events() -> None:
    """An id stays in effect for later events until another id comes."""
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n") == [
        event("a", last_id="1"),
        event("b", last_id="1"),
        event("c", last_id="2"),
    ]
    assert decoder.last_event_id == "2"


def test_empty_id_resets_the_last_event_id() -> None:
    """An empty ``id`` field sets the last event id to the empty string."""
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\nid\ndata: b\n\n") == [
        event("a", last_id="1"),
        event("b", last_id=""),
    ]
    assert decoder.last_event_id == ""


def test_id_with_nul_is_ignored() -> None:
    """An ``id`` value containing NUL is ignored; the previous id stays."""
    assert decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n") == [
        event("a", last_id="1"),
        event("b", last_id="1"),
    ]


def test_id_without_data_updates_last_event_id() -> None:
    """A blank line after an ``id`` with no data still sets the last event id."""
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 9\n\n") == []
    assert decoder.last_event_id == "9"


def test_last_event_id_changes_only_at_dispatch() -> None:
    """An ``id`` line takes effect for the decoder when its block ends."""
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"\n")
    assert decoder.last_event_id == "2"


def test_id_of_an_unfinished_event_is_dropped_at_close() -> None:
    """An id whose block never ended does not become the last event id."""
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert decoder.close() == []
    assert decoder.last_event_id == "1"


def test_id_is_decoded_as_utf8() -> None:
    """Non-ASCII ids come through intact."""
    assert decode("id: ünïcode-1\ndata: a\n\n".encode()) == [event("a", last_id="ünïcode-1")]


# --- retry ------------------------------------------------------------------


def test_retry_field_sets_the_reconnection_time() -> None:
    """A digits-only ``retry`` sets the decoder's retry and the event's retry."""
    decoder = SSEDecoder()
    assert decoder.retry is None
    assert decoder.feed(b"retry: 2500\ndata: a\n\ndata: b\n\n") == [
        event("a", retry=2500),
        event("b"),
    ]
    assert decoder.retry == 2500


def test_retry_without_data_still_counts() -> None:
    """A ``retry`` field takes effect even in a block that dispatches nothing."""
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 0\n\n") == []
    assert decoder.retry == 0


@pytest.mark.parametrize(
    "value",
    [b"", b"1.5", b"-1", b"+1", b" 1", b"1 ", b"1e3", b"abc", b"0x10", "١٢".encode(), b"9" * 5000],
    ids=lambda value: repr(value[:12]),
)
def test_invalid_retry_is_ignored(value: bytes) -> None:
    """A ``retry`` value that is not plain ASCII digits changes nothing."""
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 7\n\nretry: " + value + b"\ndata: a\n\n")
    assert events == [event("a")]
    assert decoder.retry == 7


# --- text decoding ----------------------------------------------------------


@pytest.mark.parametrize("text", ["é", "€", "😀", "日本語", "a😀b€c"])
def test_utf8_split_at_every_byte(text: str) -> None:
    """A UTF-8 sequence cut anywhere between chunks decodes whole."""
    stream = f"event: {text}\ndata: {text}\n\n".encode()
    for cut in range(len(stream) + 1):
        assert decode(stream[:cut], stream[cut:]) == [event(text, event=text)]


def test_invalid_utf8_is_replaced() -> None:
    """Invalid bytes become U+FFFD and the rest of the line survives."""
    assert decode(b"data: a\xffb\xc3(c\n\n") == [event("a\ufffdb\ufffd(c")]


def test_truncated_utf8_before_a_line_end_is_replaced() -> None:
    """A sequence cut short by a line end becomes U+FFFD; the line end is kept."""
    assert decode(b"data: a\xe2\x82\ndata: b\xf0\x9f\r\n\r\n") == [event("a\ufffd\nb\ufffd")]


def test_invalid_utf8_is_replaced_the_same_however_split() -> None:
    """The replacement of invalid bytes does not depend on chunk boundaries."""
    stream = b"data: \xe2\x82\xff\xf0\x9f\x98x\xed\xa0\x80y\xc0\xaf\n\n"
    whole = decode(stream)
    assert whole == [event(stream[6:-2].decode("utf-8", "replace"))]
    assert decode(*bytewise(stream)) == whole


def test_leading_bom_is_skipped() -> None:
    """A UTF-8 byte order mark at the start of the stream is ignored."""
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [event("a")]


def test_leading_bom_split_across_chunks_is_skipped() -> None:
    """A BOM cut into one-byte chunks is still recognised."""
    assert decode(b"\xef", b"\xbb", b"\xbf", b"data: a\n\n") == [event("a")]
    assert decode(b"\xef\xbb", b"\xbfdata: a\n\n") == [event("a")]


def test_only_one_bom_is_skipped() -> None:
    """A second BOM is part of the first field name, so that line is ignored."""
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [event("b")]


def test_bom_later_in_the_stream_is_data() -> None:
    """A BOM after the start of the stream is ordinary text."""
    assert decode(b"data: a\n\n", b"\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n") == [
        event("a"),
        event("\ufeffc"),
    ]


def test_partial_bom_prefix_is_not_dropped() -> None:
    """Bytes that begin like a BOM but are not one stay in the stream."""
    assert decode(b"\xef\xbb", b"data: a\n\ndata: b\n\n") == [event("b")]
    assert decode(b"\xef", b"data: a\n\ndata: b\n\n") == [event("b")]


# --- end of stream ----------------------------------------------------------


def test_close_discards_an_unfinished_event() -> None:
    """An event without its blank line is not dispatched at the end of the stream."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [event("a")]
    assert decoder.close() == []


def test_close_discards_an_unterminated_line() -> None:
    """A last line without a line end is not processed."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\nretry: 5") == [event("a")]
    assert decoder.close() == []
    assert decoder.retry is None


def test_complete_line_at_end_of_stream_is_processed() -> None:
    """A line ended by a CR as the very last byte counts before the stream closes."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\r") == [event("a")]
    decoder.feed(b"retry: 5\r")
    assert decoder.retry == 5
    assert decoder.close() == []


def test_close_twice_is_harmless() -> None:
    """Closing an already closed decoder returns no events."""
    decoder = SSEDecoder()
    assert decoder.close() == []
    assert decoder.close() == []


def test_feed_after_close_is_refused() -> None:
    """A closed decoder does not accept more bytes."""
    decoder = SSEDecoder()
    decoder.close()
    with pytest.raises(RuntimeError, match="closed"):
        decoder.feed(b"data: a\n\n")


def test_empty_chunks_are_harmless() -> None:
    """Empty chunks yield nothing and change nothing."""
    assert decode(b"", b"data: a", b"", b"\n", b"", b"\n", b"") == [event("a")]


# --- the size cap -----------------------------------------------------------


def test_max_event_size_must_be_positive() -> None:
    """A cap of zero or less is refused."""
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(0)


def test_max_event_size_is_exposed() -> None:
    """The cap given is the cap reported."""
    assert SSEDecoder(1234).max_event_size == 1234
    assert SSEDecoder().max_event_size == 16 * 1024 * 1024


def test_event_exactly_at_the_cap_is_accepted() -> None:
    """Data of exactly ``max_event_size`` bytes decodes."""
    data = "x" * 50 + "\n" + "y" * 49
    stream = b"data: " + b"x" * 50 + b"\ndata: " + b"y" * 49 + b"\n\n"
    assert decode(stream, max_event_size=100) == [event(data)]


def test_event_over_the_cap_raises() -> None:
    """Data over ``max_event_size`` bytes, spread over short lines, raises."""
    decoder = SSEDecoder(100)
    decoder.feed(b"data: " + b"x" * 50 + b"\n")
    with pytest.raises(SSEDecodeError, match=r"101 bytes of data.*cap of 100 bytes"):
        decoder.feed(b"data: " + b"y" * 50 + b"\n")


def test_unfinished_line_over_the_cap_raises_before_it_ends() -> None:
    """A line growing past the cap raises without waiting for its line end."""
    decoder = SSEDecoder(1000)
    for _ in range(9):
        decoder.feed(b"x" * 100)
    with pytest.raises(SSEDecodeError, match=r"1100 bytes so far.*cap of 1000 bytes"):
        decoder.feed(b"x" * 200)


def test_long_comment_line_over_the_cap_raises() -> None:
    """Any single line over the cap raises, even one that would be ignored."""
    with pytest.raises(SSEDecodeError, match=r"1002-byte line.*cap of 1000 bytes"):
        decode(b": " + b"c" * 1000 + b"\n\n", max_event_size=1000)


def test_line_completed_over_the_cap_raises() -> None:
    """A line whose pieces add up past the cap when its end arrives raises."""
    with pytest.raises(SSEDecodeError, match=r"1001-byte line.*cap of 1000 bytes"):
        decode(b"data: " + b"x" * 900, b"x" * 95 + b"\n\n", max_event_size=1000)


def test_data_lines_under_the_cap_after_a_dispatch_are_fine() -> None:
    """The data count starts again with each event."""
    chunk = b"data: " + b"x" * 80 + b"\n\n"
    assert decode(chunk * 5, max_event_size=100) == [event("x" * 80)] * 5


def test_decoder_stays_failed() -> None:
    """After an error every call raises again, even with valid input."""
    decoder = SSEDecoder(10)
    with pytest.raises(SSEDecodeError):
        decoder.feed(b"data: " + b"x" * 20 + b"\n\n")
    with pytest.raises(SSEDecodeError, match="cap of 10 bytes"):
        decoder.feed(b"data: a\n\n")
    with pytest.raises(SSEDecodeError, match="cap of 10 bytes"):
        decoder.close()


def test_decode_error_is_a_value_error() -> None:
    """Callers catching ``ValueError`` also catch decode errors."""
    assert issubclass(SSEDecodeError, ValueError)


# --- large events and performance -------------------------------------------


def test_event_larger_than_aiohttp_line_limit() -> None:
    """One data line far over 64 KiB decodes, whole and in small chunks."""
    data = "é" * 100_000
    stream = b"event: done\ndata: " + data.encode() + b"\n\n"
    expected = [event(data, event="done")]
    assert decode(stream) == expected
    assert decode(*split_at(stream, range(1, len(stream), 1000))) == expected


class _ScanCountingBytes(bytes):
    """Bytes that count how many bytes were scanned for line ends."""

    scanned = 0

    def splitlines(self, keepends: bool = False) -> list[bytes]:  # noqa: FBT002 - bytes's own signature
        type(self).scanned += len(self)
        return super().splitlines(keepends)


@pytest.mark.parametrize("line_size", [10 * 1024 * 1024, 700], ids=["one-line", "many-lines"])
def test_ten_mib_event_in_1_kib_chunks_scans_each_byte_once(line_size: int) -> None:
    """A 10 MiB event fed in 1 KiB chunks is split in one pass over the bytes."""
    total = 10 * 1024 * 1024
    lines = [b"data: " + b"z" * line_size for _ in range(total // line_size)]
    stream = b"\n".join(lines) + b"\n\n"
    _ScanCountingBytes.scanned = 0
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(stream), 1024):
        events.extend(decoder.feed(_ScanCountingBytes(stream[start : start + 1024])))
    assert _ScanCountingBytes.scanned == len(stream)
    assert len(events) == 1
    assert events[0].data == "\n".join(["z" * line_size] * len(lines))


# --- properties -------------------------------------------------------------

_line_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"))
_retry_value = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.sampled_from(["", "-1", "1.5", "x", " 3", "٣"]),
)
_field = st.one_of(
    st.tuples(st.just("data"), _line_text),
    st.tuples(st.just("event"), _line_text),
    st.tuples(st.just("id"), _line_text),
    st.tuples(st.just("retry"), _retry_value),
    st.tuples(st.just(""), _line_text),
    st.tuples(st.sampled_from(["foo", "Data", "ID", "retryx", "\ufeff"]), _line_text),
)
_Field: TypeAlias = tuple[str, str]


@attrs.frozen
class _Case:
    """A generated stream and the events the spec says it holds."""

    stream: bytes
    events: list[ServerSentEvent]
    last_event_id: str | None


def _expected(blocks: Sequence[Sequence[_Field]]) -> tuple[list[ServerSentEvent], str | None]:
    """Apply the spec's field rules to structured blocks of fields."""
    events = []
    last_id: str | None = None
    for block in blocks:
        data: list[str] = []
        event_type = ""
        retry: int | None = None
        for name, value in block:
            if name == "data":
                data.append(value)
            elif name == "event":
                event_type = value
            elif name == "id" and "\x00" not in value:
                last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                retry = int(value)
        if data:
            events.append(
                ServerSentEvent(
                    event=event_type or "message", data="\n".join(data), id=last_id, retry=retry
                )
            )
    return events, last_id


@st.composite
def _streams(draw: st.DrawFn) -> _Case:
    """Draw a valid event stream with every line style, and its expected events."""
    blocks = draw(st.lists(st.lists(_field, max_size=6), max_size=6))
    trailing = draw(st.lists(_field, max_size=3))
    lines: list[str] = []
    for block in [*blocks, trailing]:
        for name, value in block:
            if name == "":
                lines.append(":" + value)
            elif value == "" and draw(st.booleans()):
                lines.append(name)
            elif value.startswith(" ") or draw(st.booleans()):
                lines.append(f"{name}: {value}")
            else:
                lines.append(f"{name}:{value}")
        lines.append("")
    lines.pop()  # The trailing block never gets its blank line.
    text: list[str] = ["\ufeff"] if draw(st.booleans()) else []
    previous_end = ""
    for line in lines:
        end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
        if line == "" and previous_end == "\r" and end == "\n":
            # CR then LF would be one line end and swallow this blank line.
            end = "\r\n"
        text += [line, end]
        previous_end = end
    stop_mid_line = draw(st.booleans())
    if trailing and stop_mid_line:
        text.pop()  # The stream may stop in the middle of a line.
    events, last_id = _expected(blocks)
    return _Case(stream="".join(text).encode(), events=events, last_event_id=last_id)


def _decode_with_state(chunks: Iterable[bytes]) -> tuple[list[ServerSentEvent], str | None]:
    """Decode ``chunks`` and also report the final last event id."""
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder.last_event_id


@given(case=_streams(), cuts=st.lists(st.integers(min_value=0), max_size=20))
def test_any_split_of_a_valid_stream_gives_the_expected_events(
    case: _Case, cuts: list[int]
) -> None:
    """Whole or cut anywhere, a generated stream decodes to the events the spec gives."""
    assert _decode_with_state([case.stream]) == (case.events, case.last_event_id)
    offsets = [cut % (len(case.stream) + 1) for cut in cuts]
    assert _decode_with_state(split_at(case.stream, offsets)) == (case.events, case.last_event_id)


_stream_pieces = st.sampled_from(
    [
        *(b"data", b"data:", b"data: ", b"id: ", b"event:", b"retry: 1", b":", b"x", b"\xc3\xa9"),
        *(b"\r", b"\n", b"\r\n", b"\xe2\x82", b"\xac", b"\xef\xbb\xbf", b"\xff", b"\x00", b" "),
    ]
)


@given(
    stream=st.one_of(st.binary(), st.lists(_stream_pieces).map(b"".join)),
    cuts=st.lists(st.integers(min_value=0), max_size=20),
)
def test_any_split_of_any_bytes_decodes_like_the_whole(stream: bytes, cuts: list[int]) -> None:
    """Even for invalid streams, chunk boundaries never change the outcome."""
    offsets = [cut % (len(stream) + 1) for cut in cuts]
    assert _decode_with_state(split_at(stream, offsets)) == _decode_with_state([stream])


# --- the fast path for chunks of whole events -------------------------------


class _GeneralOnly(SSEDecoder):
    """A decoder that never takes the fast path: the reference to compare it with."""

    def _takes_whole_events(self, chunk: bytes) -> bool:
        return False


class _FastPathSpy(SSEDecoder):
    """A decoder that counts the chunks it decoded on the fast path."""

    fast_chunks = 0

    def _feed_whole_events(self, chunk: bytes) -> list[ServerSentEvent]:
        self.fast_chunks += 1
        return super()._feed_whole_events(chunk)


_SAMPLE_STREAM = (
    b'id: 1\nevent: status\ndata: {"index": 0, "state": "queued"}\n\n'
    b'id: 2\nevent: result\ndata: {"index": 0, "success": true}\n\n'
    b": ping\n\n"
    b'id: 3\nevent: done\ndata: {"results": []}\n\n'
)


def _feed_all(decoder: SSEDecoder, chunks: Iterable[bytes]) -> list[object]:
    """Feed ``chunks``; record each chunk's events and the decoder's state after it."""
    trace: list[object] = [
        (decoder.feed(chunk), decoder.last_event_id, decoder.retry) for chunk in chunks
    ]
    trace.append((decoder.close(), decoder.last_event_id, decoder.retry))
    return trace


def test_whole_events_take_the_fast_path() -> None:
    """A chunk of whole LF-terminated events is decoded on the fast path, to the same events."""
    decoder = _FastPathSpy()
    events = decoder.feed(_SAMPLE_STREAM)
    assert decoder.fast_chunks == 1
    assert events == decode(*bytewise(_SAMPLE_STREAM))
    assert [e.event for e in events] == ["status", "result", "done"]
    assert decoder.last_event_id == "3"


@pytest.mark.parametrize(
    "chunk",
    [
        b"data: a\r\n\r\n",  # CR line ends
        b"data: a\n",  # no blank line at the end
        b"data: a\n\ndata: b",  # an unfinished line at the end
    ],
)
def test_other_chunks_take_the_general_path(chunk: bytes) -> None:
    """A chunk with a CR, or that does not end with a blank line, goes line by line."""
    decoder = _FastPathSpy()
    decoder.feed(chunk)
    assert decoder.fast_chunks == 0


def test_an_event_under_way_keeps_the_general_path() -> None:
    """After half an event, the chunk completing it is not taken as whole events."""
    decoder = _FastPathSpy()
    assert decoder.feed(b"event: done\n") == []
    assert decoder.feed(b"data: 1\n\n") == [event("1", event="done")]
    assert decoder.fast_chunks == 0


def test_a_chunk_over_the_cap_keeps_the_general_path() -> None:
    """A chunk larger than the cap goes line by line, where each line is checked."""
    decoder = _FastPathSpy(max_event_size=10)
    with pytest.raises(SSEDecodeError, match="cap of 10 bytes"):
        decoder.feed(b"data: 0123456789\n\n")
    assert decoder.fast_chunks == 0


def _lf_stream(blocks: Sequence[Sequence[_Field]], blank_lines: Sequence[int]) -> bytes:
    """Write ``blocks`` as whole events with LF line ends and extra blank lines between."""
    out = []
    for block, extra in zip(blocks, blank_lines, strict=False):
        for name, value in block:
            out.append(f":{value}\n" if name == "" else f"{name}: {value}\n")
        out.append("\n" * (1 + extra))
    return "".join(out).encode()


_whole_event_streams = st.one_of(
    st.builds(
        _lf_stream,
        st.lists(st.lists(_field, max_size=4), min_size=1, max_size=6),
        st.lists(st.integers(min_value=0, max_value=2), min_size=6, max_size=6),
    ),
    # Odd bytes too (NUL in an id, invalid UTF-8, BOMs, CRs), as whole "events".
    st.lists(st.lists(_stream_pieces, max_size=8).map(b"".join), min_size=1, max_size=5).map(
        lambda events: b"".join(e + b"\n\n" for e in events)
    ),
)


@given(stream=_whole_event_streams, cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_fast_path_gives_what_the_general_path_gives(stream: bytes, cuts: list[int]) -> None:
    """On random streams, cut at blank lines or anywhere, both paths agree chunk by chunk."""
    boundaries = [i + 2 for i in range(len(stream) - 1) if stream[i : i + 2] == b"\n\n"]
    at_events = [boundaries[cut % len(boundaries)] for cut in cuts] if boundaries else []
    anywhere = [cut % (len(stream) + 1) for cut in cuts]
    for offsets in ([], at_events, anywhere):
        chunks = split_at(stream, offsets)
        assert _feed_all(SSEDecoder(), chunks) == _feed_all(_GeneralOnly(), chunks)


def test_ignored_types_are_not_returned_but_their_ids_count() -> None:
    """Skipped event types leave out their events, not their ids."""
    decoder = SSEDecoder(ignore_types=("status", "result"))
    assert decoder.feed(_SAMPLE_STREAM[:-42]) == []
    assert decoder.last_event_id == "2"
    assert decoder.feed(_SAMPLE_STREAM[-42:]) == [
        event('{"results": []}', event="done", last_id="3")
    ]


def test_ignored_types_still_count_against_the_cap() -> None:
    """An event of a skipped type over the cap fails the decoder all the same."""
    decoder = SSEDecoder(max_event_size=16, ignore_types=("status",))
    assert decoder.feed(b"event: status\ndata: 0123456\ndata: 01234567\n\n") == []
    with pytest.raises(SSEDecodeError, match=r"17 bytes of data.*cap of 16 bytes"):
        decoder.feed(b"event: status\ndata: 01234567\ndata: 01234567\n\n")


def test_ignoring_message_skips_events_without_a_type() -> None:
    """``message``, the type of an event without an ``event`` field, can be skipped too."""
    decoder = SSEDecoder(ignore_types=("message",))
    assert decoder.feed(b"data: 1\n\nevent: done\ndata: 2\n\n") == [event("2", event="done")]


@given(
    stream=st.one_of(_whole_event_streams, _streams().map(lambda case: case.stream)),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
    ignored=st.sets(st.sampled_from(["message", "status", "result", "done", ""])),
)
def test_ignoring_types_is_filtering_them_out(
    stream: bytes, cuts: list[int], ignored: set[str]
) -> None:
    """Skipping types gives the other events, and the same last event id, however cut."""
    everything, last_id = _decode_with_state([stream])
    names = {name or "message" for name in ignored}  # an empty type is a message
    kept = [e for e in everything if e.event not in names]
    for decoder in (SSEDecoder(ignore_types=ignored), _GeneralOnly(ignore_types=ignored)):
        events = []
        for chunk in split_at(stream, [cut % (len(stream) + 1) for cut in cuts]):
            events.extend(decoder.feed(chunk))
        events.extend(decoder.close())
        assert (events, decoder.last_event_id) == (kept, last_id)


# --- only some types wanted: chunks without them are only scanned for their id ---


class _ScanSpy(SSEDecoder):
    """A decoder that counts the chunks it read without going event by event."""

    scanned_chunks = 0

    def _feed_selected(
        self, chunk: bytes, wanted: frozenset[bytes], wanted_line: re.Pattern[bytes]
    ) -> list[ServerSentEvent] | None:
        selected = super()._feed_selected(chunk, wanted, wanted_line)
        self.scanned_chunks += selected is not None
        return selected


def test_chunks_without_a_wanted_type_are_only_scanned() -> None:
    """Statuses and results are not parsed when only ``done`` and ``error`` are wanted."""
    decoder = _ScanSpy(only_types=("done", "error"))
    cut = _SAMPLE_STREAM.index(b": ping")
    first, rest = _SAMPLE_STREAM[:cut], _SAMPLE_STREAM[cut:]
    assert decoder.feed(first) == []
    assert decoder.scanned_chunks == 1
    assert decoder.last_event_id == "2"
    # A keep-alive comment before the done event: only the done event is read.
    assert decoder.feed(rest) == [event('{"results": []}', event="done", last_id="3")]
    assert decoder.scanned_chunks == 2
    assert decoder.feed(b": ping\n\n") == []  # a comment alone: read the ordinary way
    assert decoder.scanned_chunks == 2


@pytest.mark.parametrize(
    ("chunk", "last_id"),
    [
        (b"id: 7\nevent: status\ndata: {}\n\n", "7"),
        (b"id:7\ndata: {}\n\n", "7"),
        (b"id\nevent: status\ndata: {}\n\n", ""),  # a bare id line resets the id
        (b"id: 7\ndata: {}\n\nidx: 8\ndata: {}\n\n", "7"),  # a field that only starts with id
        (b"id: 7\ndata: {}\n\nid: 8\x00\ndata: {}\n\n", "7"),  # an id with NUL is ignored
        (b"id: 7\ndata: {}\n\nretry: 10\ndata: {}\n\n", "7"),  # retry is kept too
        (b'event: status\ndata: "event: done\\n"\n\n', None),  # a marker inside data
        (b": ping\n\n", None),
        (b"id: 5\n\n", "5"),  # an id with no event still counts
    ],
)
def test_scanned_chunks_keep_the_ids_and_retry_of_a_full_reading(
    chunk: bytes, last_id: str | None
) -> None:
    """Scanning a chunk or reading it line by line leaves the decoder in the same state."""
    scanned = SSEDecoder(only_types=("done",))
    general = _GeneralOnly(only_types=("done",))
    assert _feed_all(scanned, [chunk]) == _feed_all(general, [chunk])
    assert scanned.last_event_id == last_id


_type_names = st.sampled_from(["message", "status", "result", "done", "error", ""])


def _typed_stream(events: list[tuple[str | None, str | None, str, str]]) -> bytes:
    """Whole events with ids and types, the way a write's stream looks (LF line ends)."""
    out = []
    for event_id, name, space, data in events:
        if event_id is not None:
            out.append(f"id:{space}{event_id}\n")
        if name is not None:
            out.append(f"event:{space}{name}\n")
        out.append(f"data:{space}{data}\n\n")
    return "".join(out).encode()


_typed_streams = st.lists(
    st.tuples(
        st.one_of(st.none(), st.text(alphabet="0123456789", max_size=3)),
        st.one_of(st.none(), _type_names),
        st.sampled_from(["", " "]),
        st.sampled_from(["{}", "event: done", "event:error", "x"]),
    ),
    min_size=1,
    max_size=8,
).map(_typed_stream)


@given(
    stream=st.one_of(
        _typed_streams, _whole_event_streams, _streams().map(lambda case: case.stream)
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
    wanted=st.sets(_type_names),
    ignored=st.sets(_type_names),
)
def test_only_types_is_filtering_the_others_out(
    stream: bytes, cuts: list[int], wanted: set[str], ignored: set[str]
) -> None:
    """Wanting some types gives exactly those events, and the same ids, however cut."""
    everything, last_id = _decode_with_state([stream])
    names = {name or "message" for name in wanted}
    unwanted = {name or "message" for name in ignored}
    kept = [e for e in everything if e.event in names and e.event not in unwanted]
    chunks = split_at(stream, [cut % (len(stream) + 1) for cut in cuts])
    decoder = SSEDecoder(only_types=wanted, ignore_types=ignored)
    reference = _GeneralOnly(only_types=wanted, ignore_types=ignored)
    trace = _feed_all(decoder, chunks)
    assert trace == _feed_all(reference, chunks)
    events = [e for step in trace for e in step[0]]  # type: ignore[index]
    assert (events, decoder.last_event_id) == (kept, last_id)


def test_the_events_before_a_wanted_one_are_only_scanned() -> None:
    """In one chunk holding everything, only the done event is parsed."""
    decoder = _ScanSpy(only_types=("done", "error"))
    assert decoder.feed(_SAMPLE_STREAM) == [event('{"results": []}', event="done", last_id="3")]
    assert decoder.scanned_chunks == 1
    assert decoder.last_event_id == "3"


@pytest.mark.parametrize(
    "chunk",
    [
        b"id: 1\nevent: done\ndata: a\n\nid: 2\nevent: error\ndata: b\n\n",
        b"id: 1\nevent: error\ndata: a\n\nid: 2\nevent: done\ndata: b\n\n",
        b"id: 1\nevent:error\ndata: a\n\nid: 2\nevent: done\ndata: b\n\n",
        b"id: 1\nevent: done\ndata: a\n\nid: 2\nevent:done\ndata: b\n\n",
        b"event: status\ndata: s\n\nid: 1\nevent: done\ndata: a\n\nid: 2\nevent:error\ndata: b\n\n",
    ],
)
def test_every_wanted_event_of_a_chunk_is_returned(chunk: bytes) -> None:
    """With several wanted events in one chunk, whatever their order or spacing, none is lost."""
    wanted = ("done", "error")
    assert _feed_all(SSEDecoder(only_types=wanted), [chunk]) == _feed_all(
        _GeneralOnly(only_types=wanted), [chunk]
    )
    assert len(SSEDecoder(only_types=wanted).feed(chunk)) == 2


@pytest.mark.parametrize(
    "chunk",
    [
        b"id: 1\ndata: a\nevent: e\ndata: b\n\n",  # two data lines around an event line
        b"id: 1\nevent: a\nevent: b\ndata: x\n\n",  # the last event line wins
        b"event: e\nid: 1\ndata: a\n\n",  # id after event
        b"data: a\ndata: b\n\n",
        b"id: 1\nid: 2\ndata: a\n\n",
        b"retry: 5\nid: 1\ndata: a\n\n",
        b"id:1\nevent:e\ndata:a\n\n",  # no space after the colons
        b"id:  1\nevent:  e\ndata:  a\n\n",  # two spaces: the second is kept
        b"id: 1\x002\ndata: a\n\n",  # NUL in the id: the id is ignored
        b"data\n\n",
        b"event: e\n\n",
    ],
)
def test_odd_event_shapes_read_the_same_on_both_paths(chunk: bytes) -> None:
    """Events beside the common shape are read exactly as the line-by-line path reads them."""
    assert _feed_all(SSEDecoder(), [chunk]) == _feed_all(_GeneralOnly(), [chunk])


@pytest.mark.parametrize(
    "chunk",
    [
        b"id: 5\nevent: status\ndata: x\n\nevent: done\ndata: y\n\n",  # done without its own id
        b"id: 1\nretry: 10\ndata: a\n\nid: 2\nevent: done\ndata: b\n\n",  # retry before done
        b"retry: 5\ndata: a\n\nid: 2\nevent: done\ndata: x\n\n",  # retry opening the chunk
        b"id: 2\nevent: done\ndata: a\nretry: 7\n\n",  # retry inside the done event
        b"id: 2\nevent: done\ndata: a\ndata: b\n\n",  # two data lines
        b"id: 2\nevent: done\ndata: a\n: note\n\n",  # a comment after the data
        b"event: done\ndata: a\n\nid: 3\nevent: status\ndata: b\n\n",  # done opens the chunk
        b"id: 1\nevent: error\ndata: e\n\nid: 2\nevent: done\ndata: d\n\n",  # two wanted
        b"id: 1\nevent: status\ndata: s\n\nid: 2\x00\nevent: done\ndata: d\n\n",  # NUL id
        b"id: 1\nevent: status\ndata: s\n\n\n\nid: 2\nevent: done\ndata: d\n\n",  # blank lines
        b"id: 1\nevent: status\ndata: s\n\n",  # nothing wanted
        b"data: only data\n\n",
        b"id: 9\n\n",
        b": ping\n\n",
    ],
)
def test_the_selected_reading_gives_what_the_general_path_gives(chunk: bytes) -> None:
    """Wanting only done and error: same events, last id and retry as reading line by line."""
    wanted = ("done", "error")
    for chunks in ([chunk], [b"id: 0\nevent: status\ndata: s\n\n", chunk]):
        assert _feed_all(SSEDecoder(only_types=wanted), chunks) == _feed_all(
            _GeneralOnly(only_types=wanted), chunks
        )


def test_select_changes_the_types_returned_mid_stream() -> None:
    """An awaited write widens its decoder: later events of the new types come out, ids kept."""
    decoder = SSEDecoder(only_types=["done"])
    assert decoder.feed(b"id: 1\nevent: status\ndata: a\n\nid: 2\nevent: status\ndata: b\n\n") == []
    assert decoder.last_event_id == "2"
    decoder.select(["status", "done"])
    assert decoder.feed(b"id: 3\nevent: status\ndata: c\n\nid: 4\nevent: result\ndata: d\n\n") == [
        ServerSentEvent(event="status", data="c", id="3")
    ]
    decoder.select(None)
    assert [e.event for e in decoder.feed(b"event: result\ndata: e\n\n")] == ["result"]
    assert decoder.last_event_id == "4"
