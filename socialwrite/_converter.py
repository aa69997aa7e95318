"""The ONE cattrs converter of socialwrite; every hook is registered here at import.

Strict about what we send, tolerant about what we receive: unknown fields of an
answer are kept in ``extra``, optional fields may be absent, but a field that is
present with the wrong type is an error (``APIResponseValidationError`` at the
call site), never a silent coercion (``"false"`` is not ``True``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from cattrs.preconf.json import make_converter

from ._models import (
    CommentResult,
    PlatformResult,
    WriteResult,
    _new_platform_result,
    _new_write_result,
)

__all__ = [
    "ResponseShapeError",
    "converter",
    "dumps",
    "encode_body",
    "json_string",
    "loads",
    "parse_datetime",
    "structure",
    "unstructure_platform_result",
    "unstructure_write_result",
]

T = TypeVar("T")


class ResponseShapeError(ValueError):
    """A decoded answer does not have the protocol's shape (turned into an API error)."""


converter = make_converter()


# One decoder for every answer: ``json.loads`` with an argument builds a new
# decoder object per call, on the hot path of every event.
_DECODER = json.JSONDecoder(parse_float=Decimal)


# Set by JSONDecoder.__init__ (the C scanner when there is one); not in its stubs.
_scan_once: Callable[[str, int], tuple[Any, int]] = getattr(_DECODER, "scan_once")  # noqa: B009


def loads(data: bytes | str) -> Any:
    """Decode JSON with every non-integer number as an exact ``Decimal``.

    Raises:
        ValueError: not JSON, or bytes that are not UTF-8.
    """
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    # The decoder's scanner reads one value; what ``decode`` adds around it
    # (whitespace, an error for anything after the value) is done here in
    # the common case: a value from the first character to the last.
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        value, end = None, -1
    if end == len(text):
        return value
    return _DECODER.decode(text)


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


def parse_datetime(value: object, field: str = "published_at") -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp into a timezone-aware ``datetime``.

    ``Z`` is accepted on every Python version; a timestamp without an offset
    is taken as UTC, which is what every known server means by it.
    """
    if not isinstance(value, str):
        msg = f"{field} must be a string timestamp, got {type(value).__name__}"
        raise ResponseShapeError(msg)
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{field} is not an ISO 8601 timestamp: {value[:64]!r}"
        raise ResponseShapeError(msg) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_datetime(value: datetime) -> str:
    """Format an aware ``datetime`` as RFC 3339, with ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _expect_mapping(obj: object, what: str) -> Mapping[str, Any]:
    if type(obj) is dict:
        return obj
    if not isinstance(obj, Mapping):
        msg = f"{what} must be a JSON object, got {type(obj).__name__}"
        raise ResponseShapeError(msg)
    return obj


def _optional_str(obj: Mapping[str, Any], key: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"{what}.{key} must be a string or null, got {type(value).__name__}"
    raise ResponseShapeError(msg)


_PLATFORM_RESULT_FIELDS = frozenset(
    {
        "platform",
        "success",
        "post_id",
        "url",
        "error",
        "error_code",
        "published_at",
        "first_comment",
    }
)
# Fields of a streamed ``result`` event that the stream itself consumes.
_EVENT_ONLY_FIELDS = frozenset({"index"})
# Every field that does not go to ``extra``.
_RESULT_KNOWN_FIELDS = _PLATFORM_RESULT_FIELDS | _EVENT_ONLY_FIELDS


def structure_comment_result(obj: object, what: str) -> CommentResult:
    """Decode the outcome of a first comment."""
    data = _expect_mapping(obj, what)
    success = data.get("success")
    if not isinstance(success, bool):
        msg = f"{what}.success must be true or false, got {type(success).__name__}"
        raise ResponseShapeError(msg)
    return CommentResult(
        success=success,
        comment_id=_optional_str(data, "comment_id", what),
        error=_optional_str(data, "error", what),
        error_code=_optional_str(data, "error_code", what),
    )


def unstructure_comment_result(result: CommentResult) -> dict[str, Any]:
    """Encode the outcome of a first comment (``error_code`` only when set)."""
    out: dict[str, Any] = {
        "success": result.success,
        "comment_id": result.comment_id,
        "error": result.error,
    }
    if result.error_code is not None:
        out["error_code"] = result.error_code
    return out


def structure_platform_result(obj: object, what: str = "result") -> PlatformResult:
    """Decode one platform's result, keeping unknown fields in ``extra``."""
    result = _common_platform_result(obj)
    return result if result is not None else _checked_platform_result(obj, what)


def _common_platform_result(obj: object) -> PlatformResult | None:
    """Decode a result in the common shape quickly; ``None`` for anything else.

    The common shape: a dict of exact JSON types, with no ``first_comment``
    and a ``published_at`` that is absent or an ISO 8601 timestamp this
    Python reads as is. Whatever this returns, `_checked_platform_result`
    returns too; for anything else, that function names what is wrong.
    """
    if type(obj) is not dict:
        return None
    get = obj.get
    platform = get("platform")
    success = get("success")
    post_id = get("post_id")
    url = get("url")
    error = get("error")
    error_code = get("error_code")
    published_raw = get("published_at")
    if (
        type(platform) is not str
        or type(success) is not bool
        or (post_id is not None and type(post_id) is not str)
        or (url is not None and type(url) is not str)
        or (error is not None and type(error) is not str)
        or (error_code is not None and type(error_code) is not str)
        or get("first_comment") is not None
    ):
        return None
    published_at = None
    if published_raw is not None:
        if type(published_raw) is not str:
            return None
        try:
            published_at = _fromisoformat(published_raw)
        except ValueError:
            return None
        if published_at.tzinfo is None:
            published_at = published_at.replace(tzinfo=timezone.utc)
    return _new_platform_result(
        platform,
        success,
        post_id,
        url,
        error,
        error_code,
        published_at,
        None,
        {}
        if _RESULT_KNOWN_FIELDS.issuperset(obj)
        else {k: v for k, v in obj.items() if k not in _RESULT_KNOWN_FIELDS},
    )


_fromisoformat = datetime.fromisoformat


def _checked_platform_result(obj: object, what: str) -> PlatformResult:
    """Decode one platform's result field by field, naming the first wrong field."""
    data = _expect_mapping(obj, what)
    platform = data.get("platform")
    if not isinstance(platform, str):
        msg = f"{what}.platform must be a string, got {type(platform).__name__}"
        raise ResponseShapeError(msg)
    success = data.get("success")
    if not isinstance(success, bool):
        msg = f"{what}.success must be true or false, got {type(success).__name__}"
        raise ResponseShapeError(msg)
    published_raw = data.get("published_at")
    published_at = (
        None if published_raw is None else parse_datetime(published_raw, f"{what}.published_at")
    )
    # Usually every field is known: then there is nothing to pick out.
    extra = (
        {}
        if _RESULT_KNOWN_FIELDS.issuperset(data)
        else {k: v for k, v in data.items() if k not in _RESULT_KNOWN_FIELDS}
    )
    comment_raw = data.get("first_comment")
    return PlatformResult(
        platform=platform,
        success=success,
        post_id=_optional_str(data, "post_id", what),
        url=_optional_str(data, "url", what),
        error=_optional_str(data, "error", what),
        error_code=_optional_str(data, "error_code", what),
        published_at=published_at,
        first_comment=(
            None
            if comment_raw is None
            else structure_comment_result(comment_raw, f"{what}.first_comment")
        ),
        extra=extra,
    )


def _to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        msg = f"{what} must be a number, got bool"
        raise ResponseShapeError(msg)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            msg = f"{what} is not a decimal number: {value[:32]!r}"
            raise ResponseShapeError(msg) from None
    else:
        msg = f"{what} must be a number, got {type(value).__name__}"
        raise ResponseShapeError(msg)
    if not result.is_finite():
        msg = f"{what} must be a finite number"
        raise ResponseShapeError(msg)
    return result


_WRITE_RESULT_FIELDS = frozenset({"results", "credits_used"})


def structure_write_result(
    obj: object, *, idempotency_key: str | None = None, request_id: str | None = None
) -> WriteResult:
    """Decode the aggregate answer (the plain JSON answer, or a ``done`` event's data)."""
    data = _expect_mapping(obj, "answer")
    raw_results = data.get("results")
    if not isinstance(raw_results, list):
        msg = f"answer.results must be a list, got {type(raw_results).__name__}"
        raise ResponseShapeError(msg)
    results: list[PlatformResult] = []
    for index, item in enumerate(raw_results):
        result = _common_platform_result(item)
        results.append(
            result if result is not None else _checked_platform_result(item, f"results[{index}]")
        )
    credits_raw = data.get("credits_used", 0)
    credits_used = (
        credits_raw
        if type(credits_raw) is Decimal and credits_raw.is_finite()
        else _to_decimal(0 if credits_raw is None else credits_raw, "credits_used")
    )
    extra = (
        {}
        if _WRITE_RESULT_FIELDS.issuperset(data)
        else {k: v for k, v in data.items() if k not in _WRITE_RESULT_FIELDS}
    )
    return _new_write_result(tuple(results), credits_used, idempotency_key, request_id, 0, extra)


def unstructure_platform_result(result: PlatformResult) -> dict[str, Any]:
    """Encode one result in the protocol's shape (optional fields only when set)."""
    out: dict[str, Any] = {
        "platform": result.platform,
        "success": result.success,
        "post_id": result.post_id,
        "url": result.url,
        "error": result.error,
    }
    if result.error_code is not None:
        out["error_code"] = result.error_code
    if result.published_at is not None:
        out["published_at"] = format_datetime(result.published_at)
    if result.first_comment is not None:
        out["first_comment"] = unstructure_comment_result(result.first_comment)
    for key, value in result.extra.items():
        out.setdefault(key, value)
    return out


def unstructure_write_result(result: WriteResult) -> dict[str, Any]:
    """Encode the aggregate in exactly the protocol's JSON shape."""
    out: dict[str, Any] = {
        "results": [unstructure_platform_result(r) for r in result.results],
        "credits_used": result.credits_used,
    }
    for key, value in result.extra.items():
        out.setdefault(key, value)
    return out


converter.register_structure_hook(PlatformResult, lambda obj, _: structure_platform_result(obj))
converter.register_structure_hook(WriteResult, lambda obj, _: structure_write_result(obj))
converter.register_unstructure_hook(PlatformResult, unstructure_platform_result)
converter.register_unstructure_hook(WriteResult, unstructure_write_result)
converter.register_structure_hook(datetime, lambda obj, _: parse_datetime(obj, "timestamp"))
converter.register_unstructure_hook(datetime, format_datetime)
converter.register_structure_hook(Decimal, lambda obj, _: _to_decimal(obj, "number"))


def structure(obj: object, cls: type[T]) -> T:
    """Structure ``obj`` as ``cls`` with the one converter."""
    return converter.structure(obj, cls)
