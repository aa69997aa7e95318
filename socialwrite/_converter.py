"""The ONE cattrs converter of socialwrite; every hook is registered here at import.

Strict about what we send, tolerant about what we receive: unknown fields of an
answer are kept in ``extra``, optional fields may be absent, but a field that is
present with the wrong type is an error (``APIResponseValidationError`` at the
call site), never a silent coercion (``"false"`` is not ``True``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attrs
from cattrs.preconf.json import make_converter

from ._errors import APIResponseValidationError, APIStatusError, status_error_class
from ._json import dumps, encode_body, format_datetime, json_string, loads
from ._models import (
    CommentResult,
    PlatformResult,
    WriteResult,
    new_platform_result,
    new_write_result,
    platform_result_dict,
)
from ._protocol import HEADER_REQUEST_ID, HEADER_UPLOAD_LENGTH, HEADER_UPLOAD_OFFSET, TYPE_STATUS
from .events import PlatformStatus

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

if TYPE_CHECKING:
    from ._transport import Response

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


# -- upload answers ----------------------------------------------------------------------

MAX_UPLOAD_ANSWER = 1024 * 1024
"""The most bytes of an upload call's answer read: it is a small JSON object."""


@attrs.frozen(kw_only=True)
class UploadCreated:
    """A create's answer: either already ``complete`` (``url`` set) or where to send the bytes."""

    id: str
    status: str
    upload_url: str | None
    offset: int
    url: str | None


def _media_url(value: object, what: str, url: str) -> str:
    if not isinstance(value, str):
        msg = f"the upload answer's {what} is not a string"
        raise APIResponseValidationError(msg, method="POST", url=url)
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"the upload answer's {what} is not an absolute http(s) URL"
        raise APIResponseValidationError(msg, method="POST", url=url)
    return value


def _offset(value: object, size: int, what: str, method: str, url: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
        msg = f"{what} is {value!r}, not a byte offset between 0 and {size}"
        raise APIResponseValidationError(msg, method=method, url=url)
    return value


def decode_upload_answer(raw: bytes, response: Response, *, method: str, url: str) -> Any:
    """Decode the JSON of an upload call's successful answer (shape checked by the callers)."""
    try:
        return loads(raw)
    except ValueError:
        msg = f"the answer to {method} {url} is not JSON"
        raise APIResponseValidationError(
            msg,
            status_code=response.status_code,
            request_id=response.headers.get(HEADER_REQUEST_ID.lower()),
            method=method,
            url=url,
        ) from None


def decode_upload_created(data: object, size: int, *, status: int, url: str) -> UploadCreated:
    """Decode a create's answer (``POST /v1/media/uploads``)."""
    if not isinstance(data, dict):
        msg = "the create answer is not a JSON object"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    upload_id = data.get("id")
    state = data.get("status")
    if not isinstance(upload_id, str) or not isinstance(state, str):
        msg = "the create answer lacks its id or status"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    if state == "complete":
        media_url = _media_url(data.get("url"), "url", url)
        return UploadCreated(
            id=upload_id, status=state, upload_url=None, offset=size, url=media_url
        )
    offset = _offset(data.get("offset", 0), size, "the create answer's offset", "POST", url)
    if data.get("upload_url") is None:
        msg = "the create answer has no upload_url"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    upload_url = _media_url(data.get("upload_url"), "upload_url", url)
    return UploadCreated(id=upload_id, status=state, upload_url=upload_url, offset=offset, url=None)


def decode_upload_offset(data: object, size: int, *, method: str, url: str) -> int:
    """Decode the offset of a PUT's answer."""
    if not isinstance(data, dict):
        msg = f"the {method} answer is not a JSON object"
        raise APIResponseValidationError(msg, method=method, url=url)
    return _offset(data.get("offset"), size, f"the {method} answer's offset", method, url)


def decode_upload_head(headers: Mapping[str, str], size: int, *, url: str) -> int:
    """Decode where an upload stands from a HEAD's ``Upload-Offset`` and ``Upload-Length``."""
    length = headers.get(HEADER_UPLOAD_LENGTH.lower())
    if length is not None and length.strip() != str(size):
        msg = f"the server holds an upload of {length} bytes, not {size}"
        raise APIResponseValidationError(msg, method="HEAD", url=url)
    raw = headers.get(HEADER_UPLOAD_OFFSET.lower(), "")
    offset = int(raw) if raw.strip().isdigit() else None
    return _offset(offset, size, "Upload-Offset", "HEAD", url)


def upload_offset_of(error: APIStatusError, size: int, *, method: str, url: str) -> int:
    """The offset a 409 (``offset_mismatch``, ``incomplete_upload``) says to resume from."""
    offset = error.body.get("offset") if error.body else None
    return _offset(offset, size, "the offset", method, url)


def decode_upload_completed(data: object, *, url: str) -> str:
    """Decode a complete's answer: the media URL."""
    if not isinstance(data, dict):
        msg = "the complete answer is not a JSON object"
        raise APIResponseValidationError(msg, method="POST", url=url)
    return _media_url(data.get("url"), "url", url)


# -- streamed events ---------------------------------------------------------------------


def _event_index(data: Mapping[str, Any], platforms: tuple[str, ...]) -> int:
    """The ``index`` of an event, checked against the write's platforms."""
    index = data.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        msg = "index must be an integer"
        raise ResponseShapeError(msg)
    if not 0 <= index < len(platforms):
        msg = f"index {index} is outside the write's {len(platforms)} platforms"
        raise ResponseShapeError(msg)
    platform = data.get("platform", platforms[index])
    if platform != platforms[index]:
        msg = f"index {index} is {platforms[index]!r}, not {platform!r}"
        raise ResponseShapeError(msg)
    return index


def decode_status_event(data: object, platforms: tuple[str, ...]) -> PlatformStatus:
    """Decode a ``status`` event's data for a write to ``platforms``."""
    if not isinstance(data, dict):
        msg = "status data must be an object"
        raise ResponseShapeError(msg)
    index = _event_index(data, platforms)
    state = data.get("state")
    if not isinstance(state, str):
        msg = "status.state must be a string"
        raise ResponseShapeError(msg)
    raw_progress = data.get("progress")
    progress: float | None = None
    if raw_progress is not None:
        if isinstance(raw_progress, bool) or not isinstance(raw_progress, (int, float, Decimal)):
            msg = "status.progress must be a number or null"
            raise ResponseShapeError(msg)
        progress = float(raw_progress)
        if not math.isfinite(progress):
            msg = "status.progress must be a finite number"
            raise ResponseShapeError(msg)
    return PlatformStatus(platform=platforms[index], index=index, state=state, progress=progress)


def decode_result_event(data: object, platforms: tuple[str, ...]) -> tuple[int, PlatformResult]:
    """Decode a ``result`` event's data: the platform's index and its result."""
    if not isinstance(data, dict):
        msg = "result data must be an object"
        raise ResponseShapeError(msg)
    index = _event_index(data, platforms)
    return index, structure_platform_result(data, "result")


def error_event_status(data: object) -> int:
    """The status an ``error`` event stands for, from its ``error.type`` (else 500)."""
    inner = data.get("error") if isinstance(data, dict) else None
    error_type = inner.get("type") if isinstance(inner, dict) else None
    return TYPE_STATUS.get(error_type, 500) if isinstance(error_type, str) else 500
