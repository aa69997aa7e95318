"""Error answers of every shape: the protocol's, flat bodies, pages that are not JSON, redirects."""

from __future__ import annotations

import http
import re
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import attrs

from .._errors import APIStatusError, status_error_class
from .._json import loads

if TYPE_CHECKING:
    pass


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


PRINTABLE_LIMIT = 4000
"""The most characters of a value ``printable`` keeps."""


def printable(text: str) -> str:
    r"""Text from a server or a file, safe for a terminal: one line, no escape sequence.

    The text stays; escape sequences (which could retitle or recolour the
    terminal) and control characters go.

    Example:
        >>> printable("\x1b]0;TITLE\x07\x1b[31mrate limited\x1b[0m")
        'rate limited'
    """
    return clean_text(text, PRINTABLE_LIMIT)


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
