"""The ONE cattrs converter of socialwrite; every hook is registered here at import.

Strict about what we send, tolerant about what we receive: unknown fields of an
answer are kept in ``extra``, optional fields may be absent, but a field that is
present with the wrong type is an error (``APIResponseValidationError`` at the
call site), never a silent coercion (``"false"`` is not ``True``).
"""

from __future__ import annotations

import http
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

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
    "MAX_CREDITS",
    "MESSAGE_LIMIT",
    "MISSING_RESULT",
    "TEXT_LIMIT",
    "TEXT_SCAN",
    "ResponseShapeError",
    "clean_text",
    "converter",
    "dumps",
    "encode_body",
    "error_from_body",
    "json_string",
    "loads",
    "match_results",
    "missing_result",
    "parse_datetime",
    "reason_phrase",
    "redact_json",
    "redirect_error",
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


# -- error answers ---------------------------------------------------------------------
#
# What a server says went wrong, in whatever shape it says it: the protocol's
# ``{"error": {...}}``, a flat ``{"error": "code", "message": ...}``,
# ``{"message": ...}``, FastAPI's ``{"detail": ...}``, a list of ``errors``, or
# no JSON at all (a proxy's HTML page). Every piece of text that reaches an
# error comes through ``clean_text``: no terminal escapes, no control
# characters, one line, a bounded length.

MESSAGE_LIMIT = 1000
"""The most characters of a message the server wrote (in a JSON body) kept."""
TEXT_LIMIT = 200
"""The most characters of a body that is not JSON kept as the message."""
TEXT_SCAN = 64 * 1024
"""The most bytes of a body that is not JSON looked at for its text."""
_FIELD_LIMIT = 200
_DETAIL_ITEMS = 5

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-character escapes.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 and C1 controls but the whitespace ones (split() turns those into spaces),
# DEL, and the bidirectional overrides that reorder what a terminal shows.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A code is one word in one case, or words joined by ``_-.:``: ``rate_limited``,
# ``forbidden``, ``RATE_LIMIT``, ``invalidToken.expired``; not ``Unauthorized``.
_CODE = re.compile(r"[a-z0-9]+|[A-Z0-9]+|[A-Za-z0-9]+(?:[_.:-][A-Za-z0-9]+)+")
_CODE_LIMIT = 64


def clean_text(text: str, limit: int, redact: Callable[[str], str] | None = None) -> str:
    r"""Make text from a server safe to print: one line of at most ``limit`` characters.

    Terminal escape sequences and control characters are removed, runs of
    whitespace become one space, ``redact`` (if given) runs on the result,
    and a longer text is then cut (on a character, never inside one) with an
    ellipsis: redacting first, so that no cut leaves a piece of a secret.

    Example:
        >>> clean_text("\x1b[31mred\x1b[0m\n  alert\x07", 50)
        'red alert'
    """
    text = " ".join(_CONTROLS.sub("", _ESCAPES.sub("", text)).split())
    if redact is not None:
        text = redact(text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def reason_phrase(status: int) -> str:
    """The status's reason phrase (``Bad Gateway``), or ``HTTP 599`` for an unknown one."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class _PageText(HTMLParser):
    """The text a person sees on an HTML page: no markup, scripts, styles or title."""

    _HIDDEN = frozenset({"script", "style", "title", "noscript", "template", "svg"})
    _INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "small", "span", "strong", "u"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden is None and tag in self._HIDDEN:
            self._hidden = tag
        elif tag not in self._INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._hidden:
            self._hidden = None
        elif tag not in self._INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self._hidden is None:
            self.parts.append(data)
        elif self._hidden == "title":
            self.title.append(data)


_TAG_START = re.compile(r"<[/!?A-Za-z]")


def _without_open_markup(text: str) -> str:
    """Drop a comment or tag left open at the end (where a long page was cut)."""
    start = text.rfind("<!--")
    if start >= 0 and text.find("-->", start) < 0:
        return text[:start]
    start = text.rfind("<")
    if start > text.rfind(">") and _TAG_START.match(text, start):
        return text[:start]
    return text


def _page_text(text: str) -> str:
    """The visible text of a body that may be HTML (plain text is returned as is)."""
    if "<" not in text:
        return text
    page = _PageText()
    try:
        page.feed(_without_open_markup(text))
        page.close()
    except (AssertionError, ValueError):  # an old parser's complaint about broken markup
        return re.sub(r"<[^>]*>", " ", text)
    shown = "".join(page.parts)
    return shown if shown.strip() else "".join(page.title)


def _text_message(raw: bytes, redact: Callable[[str], str] | None) -> str:
    """The message of a body that is not JSON: its visible text, short and clean."""
    text = raw[:TEXT_SCAN].decode("utf-8", "replace")
    return clean_text(_page_text(text), TEXT_LIMIT, redact)


def _decode_body(raw: bytes) -> object:
    """The body's JSON, or ``None`` when it is empty or not JSON."""
    if not raw:
        return None
    try:
        return loads(raw)
    except (ValueError, RecursionError):
        return None


def _field(source: Mapping[str, Any], name: str) -> str | None:
    """A text field of an error object (a number, as some send a code, becomes text)."""
    value = source.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _detail_text(detail: object) -> str | None:
    """FastAPI's ``detail``: a string, or a list of ``{"loc": [...], "msg": ...}``."""
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, list) or not detail:
        return None
    lines: list[str] = []
    for item in detail[:_DETAIL_ITEMS]:
        if isinstance(item, str):
            lines.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("msg"), str):
            loc = item.get("loc")
            where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
            lines.append(f"{where}: {item['msg']}" if where else item["msg"])
    if len(detail) > _DETAIL_ITEMS:
        lines.append(f"and {len(detail) - _DETAIL_ITEMS} more")
    return "; ".join(lines) or None


def _message_in(source: Mapping[str, Any]) -> str | None:
    """The human message of an error object, under any of the names services use."""
    for name in ("message", "error_description", "detail", "title"):
        value = _detail_text(source.get(name)) if name == "detail" else source.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


@attrs.define
class _ErrorFields:
    """What an error body says, whatever its shape."""

    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    request_id: str | None = None

    def take(self, source: Mapping[str, Any]) -> None:
        """Fill what is still missing from an error object."""
        self.message = self.message or _message_in(source)
        self.type = self.type or _field(source, "type")
        self.code = self.code or _field(source, "code")
        self.param = self.param or _field(source, "param")
        self.request_id = self.request_id or _field(source, "request_id")


def _error_fields(body: Mapping[str, Any]) -> _ErrorFields:
    """Read an error body of any known shape (see the section's comment)."""
    fields = _ErrorFields()
    inner = body.get("error")
    if isinstance(inner, Mapping):
        fields.take(inner)  # the protocol's shape comes first
    elif isinstance(inner, str) and inner.strip():
        # Flat: ``"error"`` is a code (one word) or, alone, the message itself.
        if len(inner) <= _CODE_LIMIT and _CODE.fullmatch(inner.strip()):
            fields.code = inner.strip()
        else:
            fields.message = inner
    fields.take(body)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, Mapping):
            fields.take(first)
        elif isinstance(first, str):
            fields.message = fields.message or first
    return fields


def _body_says_more(decoded: object, fields: _ErrorFields) -> bool:
    """Whether a body without a message, shown as text, says more than the reason phrase.

    A page or a JSON object of unknown fields does; an error object with only
    a code or a type does not (the code is shown anyway).
    """
    if not isinstance(decoded, Mapping):
        return True
    return bool(decoded) and not (fields.code or fields.type) and "error" not in decoded


def error_from_body(
    status: int,
    raw: bytes,
    *,
    request_id: str | None,
    retry_after: float | None,
    method: str,
    url: str,
    redact: Callable[[str], str] | None = None,
) -> APIStatusError:
    """Build the typed error of an error answer, from its status and body.

    The class comes from the status alone. ``code``, ``message``, ``type``,
    ``param`` and ``request_id`` come from the body, in any of the shapes
    above; ``request_id`` from the ``X-Request-Id`` header first. A body that
    is not JSON gives its visible text (at most ``TEXT_LIMIT`` characters),
    and a body with nothing to say gives the status's reason phrase.

    Args:
        status: the answer's HTTP status.
        raw: its body (or the start of it), the API key already removed.
        request_id: its ``X-Request-Id`` header, if any.
        retry_after: its ``Retry-After``, in seconds, if any.
        method: the request's method, for the error.
        url: the request's URL, for the error.
        redact: removes the API key from text decoded out of the body (an
            escaped echo of it is whole again once decoded).
    """
    decoded = _decode_body(raw)
    fields = _ErrorFields()
    body: Mapping[str, Any] | None = None
    if isinstance(decoded, Mapping):
        body = decoded
        fields = _error_fields(decoded)
    elif isinstance(decoded, str):
        fields.message = decoded

    def clean(text: str | None, limit: int = _FIELD_LIMIT) -> str | None:
        return None if text is None else clean_text(text, limit, redact) or None

    message = clean(fields.message, MESSAGE_LIMIT)
    if message is None and raw and _body_says_more(decoded, fields):
        message = _text_message(raw, redact) or None
    return status_error_class(status)(
        message or reason_phrase(status),
        status_code=status,
        type=clean(fields.type),
        code=clean(fields.code),
        param=clean(fields.param),
        request_id=clean(request_id or fields.request_id),
        body=body,
        retry_after=retry_after,
        method=method,
        url=url,
    )


def redirect_error(
    status: int, location: str | None, *, request_id: str | None, method: str, url: str
) -> APIStatusError:
    """The error of a 3xx answer: never a success, whatever its body says.

    The SDK follows no redirect (the ``Authorization`` header must not travel
    to wherever it points), so the message names the status and where it
    pointed (without its query, which may hold a token), and what to check.
    """
    where = "a redirect without a Location"
    if location:
        try:
            target = urljoin(url, location.strip())
        except ValueError:
            target = location
        target = clean_text(target.split("?", 1)[0].split("#", 1)[0], TEXT_LIMIT)
        where = f"a redirect to {target}"
    msg = (
        f"the server answered {status} {reason_phrase(status)}, {where}, which the SDK "
        "does not follow (the API key must not travel); check base_url"
    )
    return status_error_class(status)(
        msg, status_code=status, request_id=request_id, method=method, url=url
    )


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
#
# A ``status`` or ``result`` event that cannot be matched to one of the write's
# platforms, or does not parse, is skipped (``None``), never an error: the
# ``done`` event repeats every result, and it decides. A stream is not lost to
# a server that numbers its platforms differently.


def event_index(data: Mapping[str, Any], platforms: tuple[str, ...]) -> int | None:
    """The write's index of the platform an event is about, or ``None`` when it is none of them.

    Its ``platform`` decides; ``index`` counts only when ``platform`` is absent
    (the protocol sends both: a server whose ``index`` disagrees is taken at
    its ``platform``).
    """
    platform = data.get("platform")
    index = data.get("index")
    if platform is None:
        if type(index) is int and 0 <= index < len(platforms):
            return index
        return None
    if type(index) is int and 0 <= index < len(platforms) and platforms[index] == platform:
        return index
    if isinstance(platform, str) and platform in platforms:
        return platforms.index(platform)
    return None


def decode_status_event(data: object, platforms: tuple[str, ...]) -> PlatformStatus | None:
    """Decode a ``status`` event's data for a write to ``platforms``; ``None`` to skip it.

    A ``progress`` that is not a finite number is taken as unknown (``None``).
    """
    if type(data) is not dict:
        return None
    index = event_index(data, platforms)
    state = data.get("state")
    if index is None or not isinstance(state, str):
        return None
    raw_progress = data.get("progress")
    progress: float | None = None
    if isinstance(raw_progress, (int, float, Decimal)) and not isinstance(raw_progress, bool):
        progress = float(raw_progress)
        if not math.isfinite(progress):
            progress = None
    return PlatformStatus(platform=platforms[index], index=index, state=state, progress=progress)


def decode_result_event(
    data: object, platforms: tuple[str, ...]
) -> tuple[int, PlatformResult] | None:
    """Decode a ``result`` event's data: its platform's index and result; ``None`` to skip it."""
    if type(data) is not dict:
        return None
    index = event_index(data, platforms)
    if index is None:
        return None
    if data.get("platform") != platforms[index]:
        data = {**data, "platform": platforms[index]}
    try:
        return index, structure_platform_result(data, "result")
    except ResponseShapeError:
        return None


def error_event_status(data: object) -> int:
    """The status an ``error`` event stands for, from its ``error.type`` (else 500)."""
    inner = data.get("error") if isinstance(data, dict) else None
    error_type = inner.get("type") if isinstance(inner, dict) else None
    return TYPE_STATUS.get(error_type, 500) if isinstance(error_type, str) else 500
