"""JSON as the protocol writes it: exact decimals in, strict compact JSON out.

A pure codec with no knowledge of the models: the converter decodes answers
with ``loads``, the models encode themselves with ``dumps``, the request body
is built with ``encode_body``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "encode_body", "format_datetime", "json_string", "loads"]

MAX_DEPTH = 512
"""The deepest nesting of arrays and objects ``loads`` accepts; deeper input is a ``ValueError``.

An answer of the protocol is nested four levels deep. The cap keeps a hostile
answer (``[`` two hundred thousand times) from reaching the interpreter's
recursion limit, in the decoder or in any code that walks the decoded value.
"""


# One decoder for every answer: ``json.loads`` with an argument builds a new
# decoder object per call, on the hot path of every event.
_DECODER = json.JSONDecoder(parse_float=Decimal)


# Set by JSONDecoder.__init__ (the C scanner when there is one); not in its stubs.
_scan_once: Callable[[str, int], tuple[Any, int]] = getattr(_DECODER, "scan_once")  # noqa: B009


def loads(data: bytes | str) -> Any:
    """Decode JSON with every non-integer number as an exact ``Decimal``.

    Bytes that are not UTF-8 become U+FFFD (as the event stream decoder does),
    and a leading byte order mark is skipped: a server's slip in encoding must
    not cost the answer of a write that was published.

    Raises:
        ValueError: not JSON, or nested deeper than ``MAX_DEPTH``.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    # Valid JSON deeper than MAX_DEPTH is more than twice as long; a shorter
    # text that nests (invalid, never closed) ends in the RecursionError below.
    if len(text) > 2 * MAX_DEPTH and text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth(text)
    # The decoder's scanner reads one value; what ``decode`` adds around it
    # (whitespace, an error for anything after the value) is done here in
    # the common case: a value from the first character to the last.
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        value, end = None, -1
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    if end == len(text):
        return value
    return _decode_rest(text)


_TOO_DEEP = f"the JSON is nested deeper than {MAX_DEPTH} levels"
# A string (escapes included), and a run of anything but brackets.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _check_depth(text: str) -> None:
    """Raise ``ValueError`` when ``text`` nests deeper than ``MAX_DEPTH`` (strings skipped)."""
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH:
        raise ValueError(_TOO_DEEP)


def _decode_rest(text: str) -> Any:
    """Decode what the fast path did not: whitespace around the value, a BOM, or an error."""
    try:
        return _DECODER.decode(text[1:] if text.startswith("\ufeff") else text)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # float's repr is the shortest text that round-trips, so Decimal("0.015")
            # is written as 0.015: exact for every amount with up to 15 digits.
            return float(o)
        if isinstance(o, datetime):
            return format_datetime(o)
        return super().default(o)


# One encoder for every body, for the same reason as the one decoder (an
# encoder keeps no state between calls).
_ENCODER = _Encoder(ensure_ascii=False, separators=(",", ":"))


def dumps(obj: Any) -> str:
    """Encode to compact JSON, writing ``Decimal`` as a JSON number."""
    return _ENCODER.encode(obj)


# A request body is strict JSON: NaN and infinities are refused, not written
# as the non-standard ``NaN``. Its C encoder is made once (``JSONEncoder``
# makes one per call) and keeps no circular-reference memo, which would be
# shared by every thread: a body is checked where it is built (``_validate``),
# where a structure that refers to itself fails with ``RecursionError``.
_STRICT_ENCODER = _Encoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_c_make_encoder: Callable[..., Callable[[Any, int], list[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_c_encoder = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None,
        _STRICT_ENCODER.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )
)


json_string: Callable[[str], str] = json.encoder.encode_basestring
"""A string as a JSON string literal, non-ASCII characters kept (as ``encode_body`` writes it)."""


def encode_body(obj: Any) -> bytes:
    """Encode a request body as compact, strict JSON in UTF-8.

    Raises:
        TypeError: a value JSON cannot hold.
        ValueError: a number that is not finite.
        RecursionError: a structure that refers to itself (or is nested too deeply).
        UnicodeEncodeError: text with a lone surrogate, which UTF-8 cannot hold.
    """
    if _c_encoder is None:  # pragma: no cover - CPython has the C encoder
        return _STRICT_ENCODER.encode(obj).encode()
    return "".join(_c_encoder(obj, 0)).encode()


def format_datetime(value: datetime) -> str:
    """Format an aware ``datetime`` as RFC 3339, with ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
