"""The ONE cattrs converter of socialwrite; every hook is registered here at import.

Strict about what we send, tolerant about what we receive: unknown fields of an
answer are kept in ``extra``, optional fields may be absent, but a field that is
present with the wrong type is an error (``APIResponseValidationError`` at the
call site), never a silent coercion (``"false"`` is not ``True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from cattrs.preconf.json import make_converter

from ._errors import APIStatusError, status_error_class
from ._json import dumps, encode_body, format_datetime, json_string, loads
from ._models import (
    CommentResult,
    PlatformResult,
    WriteResult,
    new_platform_result,
    new_write_result,
    platform_result_dict,
)

__all__ = [
    "ResponseShapeError",
    "converter",
    "dumps",
    "encode_body",
    "error_from_body",
    "json_string",
    "loads",
    "parse_datetime",
    "structure",
]

T = TypeVar("T")


class ResponseShapeError(ValueError):
    """A decoded answer does not have the protocol's shape (turned into an API error)."""


converter = make_converter()


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
    return new_platform_result(
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
    return new_write_result(tuple(results), credits_used, idempotency_key, request_id, 0, extra)


converter.register_structure_hook(PlatformResult, lambda obj, _: structure_platform_result(obj))
converter.register_structure_hook(WriteResult, lambda obj, _: structure_write_result(obj))
converter.register_unstructure_hook(PlatformResult, platform_result_dict)
converter.register_unstructure_hook(WriteResult, WriteResult.to_dict)
converter.register_structure_hook(datetime, lambda obj, _: parse_datetime(obj, "timestamp"))
converter.register_unstructure_hook(datetime, format_datetime)
converter.register_structure_hook(Decimal, lambda obj, _: _to_decimal(obj, "number"))


def structure(obj: object, cls: type[T]) -> T:
    """Structure ``obj`` as ``cls`` with the one converter."""
    return converter.structure(obj, cls)


# -- error answers ---------------------------------------------------------------------


def error_from_body(
    status: int,
    raw: bytes,
    *,
    request_id: str | None,
    retry_after: float | None,
    method: str,
    url: str,
) -> APIStatusError:
    """Build the typed error of an error answer, from its status and body.

    The body's ``error`` object gives the message, type, code and param; a
    body that is not JSON (a proxy's HTML page) still gives its status's
    class, with the start of the body as the message.
    """
    error: dict[str, Any] = {}
    body: dict[str, Any] | None = None
    try:
        decoded = loads(raw) if raw else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        body = decoded
        inner = decoded.get("error")
        if isinstance(inner, dict):
            error = inner
    message = error.get("message")
    if not isinstance(message, str) or not message:
        snippet = raw[:200].decode("utf-8", "replace").strip()
        message = f"HTTP {status}" + (f": {snippet}" if snippet else "")

    def text(name: str) -> str | None:
        value = error.get(name)
        return value if isinstance(value, str) else None

    cls = status_error_class(status)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "type": text("type"),
        "code": text("code"),
        "param": text("param"),
        "request_id": request_id,
        "body": body,
        "retry_after": retry_after,
        "method": method,
        "url": url,
    }
    return cls(message, **kwargs)
