"""Results: one platform's, and the aggregate, decoded tolerantly; the one cattrs converter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from cattrs.preconf.json import make_converter

from .._json import dumps, format_datetime
from .._models import (
    CommentResult,
    PlatformResult,
    WriteResult,
    new_platform_result,
    new_write_result,
    platform_result_dict,
)

if TYPE_CHECKING:
    pass


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
        post_id=_post_id(data.get("post_id"), what),
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


# The most digits of an integral number written out as one (beyond: its exponent form).
_POST_ID_DIGITS = 64


def _post_id(value: object, what: str) -> str | None:
    """A post id: a string as is, a JSON number as its decimal text (some servers send one).

    An integer is written out exactly (``1234567890123456789``, ``1e3`` as
    ``1000``); any other number as its own decimal text (``12.5``).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value.adjusted() < _POST_ID_DIGITS:
            whole = value.to_integral_value()
            if whole == value:
                return str(int(whole))
        return str(value)
    if isinstance(value, float):  # NaN or an infinity: all the decoder makes a float of
        return dumps(value)
    msg = f"{what}.post_id must be a string, a number or null, got {type(value).__name__}"
    raise ResponseShapeError(msg)


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

MAX_CREDITS = Decimal(10**9)
"""The most credits one write can cost; an answer claiming more is not believed."""
# ``credits_used.adjusted()`` below this: the amount is under 10**9.
_CREDITS_EXPONENT = 9

MISSING_RESULT = "missing_result"
"""The ``error_code`` of a platform the server's answer has no result for."""


def missing_result(platform: str) -> PlatformResult:
    """The failed result that stands for a platform the answer left out."""
    message = (
        f"the server's answer has no result for {platform!r}, so whether the post was "
        f"published there is unknown: check the account on {platform} before posting it again"
    )
    return new_platform_result(platform, False, None, None, message, MISSING_RESULT, None, None, {})


def match_results(
    results: list[PlatformResult], platforms: tuple[str, ...]
) -> tuple[PlatformResult, ...]:
    """Put results in the order of ``platforms``, matched by ``platform``.

    A platform without a result gets `missing_result`; of two results for one
    platform the first wins; a result for a platform the write did not ask
    for is dropped (it is not a post of this write).
    """
    by_platform: dict[str, PlatformResult] = {}
    for result in results:
        by_platform.setdefault(result.platform, result)
    return tuple([by_platform.get(platform) or missing_result(platform) for platform in platforms])


def _credits(value: object) -> Decimal:
    """``credits_used``, checked: a finite amount from 0 to ``MAX_CREDITS``."""
    amount = _to_decimal(0 if value is None else value, "credits_used")
    if amount < 0 or amount > MAX_CREDITS:
        text = str(amount)
        shown = text if len(text) <= 32 else text[:31] + "…"
        msg = f"credits_used is {shown}, not an amount from 0 to {MAX_CREDITS}"
        raise ResponseShapeError(msg)
    return amount


def structure_write_result(
    obj: object,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
    platforms: tuple[str, ...] | None = None,
) -> WriteResult:
    """Decode the aggregate answer (the plain JSON answer, or a ``done`` event's data).

    Args:
        obj: the decoded JSON.
        idempotency_key: the write's key, for the result.
        request_id: the answer's request id, for the result.
        platforms: the write's platforms: the results are then matched to
            them by ``platform`` (see `match_results`), in their order.

    Raises:
        ResponseShapeError: the answer is not the protocol's shape, or its
            ``credits_used`` is not an amount from 0 to ``MAX_CREDITS``.
    """
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
        if type(credits_raw) is Decimal
        and credits_raw.is_finite()
        and not credits_raw.is_signed()
        and credits_raw.adjusted() < _CREDITS_EXPONENT
        else _credits(credits_raw)
    )
    extra = (
        {}
        if _WRITE_RESULT_FIELDS.issuperset(data)
        else {k: v for k, v in data.items() if k not in _WRITE_RESULT_FIELDS}
    )
    ordered = tuple(results)
    if platforms is not None and tuple([r.platform for r in results]) != platforms:
        ordered = match_results(results, platforms)
    return new_write_result(ordered, credits_used, idempotency_key, request_id, 0, extra)


def redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    """A copy of decoded JSON with ``redact`` applied to every string (keys too).

    For an error's ``body``: an escaped echo of the API key (written with JSON
    escapes) is whole again once decoded, so redacting the bytes is not enough.
    Iterative, not recursive: the value may be nested as deep as ``loads`` allows.
    """
    if isinstance(value, str):
        return redact(value)
    if not isinstance(value, (list, dict)):
        return value
    root: list[Any] = [None]
    # (the container to copy, where its copy goes: a list and an index or key)
    pending: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while pending:
        source, target, slot = pending.pop()
        if isinstance(source, str):
            target[slot] = redact(source)
        elif isinstance(source, list):
            copy: list[Any] = [None] * len(source)
            target[slot] = copy
            pending.extend((item, copy, index) for index, item in enumerate(source))
        elif isinstance(source, dict):
            mapping: dict[str, Any] = {redact(key): None for key in source}
            target[slot] = mapping
            pending.extend((item, mapping, redact(key)) for key, item in source.items())
        else:
            target[slot] = source
    return root[0]


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
