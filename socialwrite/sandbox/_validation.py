"""Checks of a ``POST /v1/social/write`` request, pure: bytes and headers in, a request out.

Every request-level problem protocol.md names is found here, before anything
is published, and raised as a :class:`~socialwrite.sandbox._protocol.ProtocolError`
whose ``param`` points at the offending field (``platforms[1]``,
``content.media[0]``, ``options.instagram``). Keeping this free of I/O lets the
rules be tested without a server, and keeps the handlers thin.

Unknown fields are ignored rather than refused, so that a newer client sending
an optional field this sandbox does not know still works; they do count in
the idempotency fingerprint, which covers the whole body.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import attrs

from .._protocol import (
    ACCEPT_STREAM,
    HEADER_IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_MEDIA,
    MAX_PLATFORMS,
    PLATFORM_ID,
    UPLOADS_PATH,
    is_printable_ascii,
)
from ._protocol import ProtocolError

__all__ = [
    "ReceivedWrite",
    "check_content_type",
    "check_idempotency_key",
    "decode_json",
    "fingerprint_of",
    "last_event_id",
    "parse_write_request",
    "wants_event_stream",
]

_EVENT_ID = re.compile(r"[0-9]{1,18}")


@attrs.frozen(kw_only=True)
class ReceivedWrite:
    """A write the sandbox accepted, normalized.

    Attributes:
        platforms: the platform ids, in request order.
        text: the text to publish, or ``None`` when the request has none.
        media: the media URLs (empty when there are none).
        alt_text: one entry per media item (a single alt text is repeated for each).
        options: per-platform options, keyed by platform id.
        fingerprint: the SHA-256 of the body's canonical JSON, for idempotency.
    """

    platforms: tuple[str, ...]
    text: str | None
    media: tuple[str, ...]
    alt_text: tuple[str | None, ...]
    options: Mapping[str, Mapping[str, Any]]
    fingerprint: str


def check_idempotency_key(value: str | None) -> str | None:
    """Return the ``Idempotency-Key`` header's value, or ``None`` when it is absent.

    Raises:
        ProtocolError: 400 ``invalid_idempotency_key`` unless the key is 1 to 255
            printable ASCII characters.
    """
    if value is None:
        return None
    if not 1 <= len(value) <= IDEMPOTENCY_KEY_MAX_LENGTH or not is_printable_ascii(value):
        msg = (
            f"{HEADER_IDEMPOTENCY_KEY} must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII "
            "characters; a UUID4 string is a good choice"
        )
        raise ProtocolError(400, "invalid_idempotency_key", msg, param=HEADER_IDEMPOTENCY_KEY)
    return value


def fingerprint_of(body: object) -> str:
    """Return the SHA-256 (hex) of ``body``'s canonical JSON (sorted keys, no spaces).

    Two bodies that parse to the same JSON value have the same fingerprint,
    whatever their key order or whitespace.

    Raises:
        ProtocolError: 400 ``invalid_json`` when a string holds an unpaired surrogate
            (valid JSON escapes, but not text that can be stored or published).
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        encoded = canonical.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = "the body holds an unpaired UTF-16 surrogate escape; send valid Unicode text"
        raise ProtocolError(400, "invalid_json", msg) from exc
    return hashlib.sha256(encoded).hexdigest()


def parse_write_request(raw: bytes, content_type: str | None) -> ReceivedWrite:
    """Parse and check a write's body.

    Args:
        raw: the request body.
        content_type: the ``Content-Type`` header, or ``None`` when absent.

    Returns:
        The normalized request.

    Raises:
        ProtocolError: 400 with the protocol's code and ``param`` for the first
            problem found.
    """
    check_content_type(content_type)
    body = decode_json(raw)
    fingerprint = fingerprint_of(body)
    if not isinstance(body, dict):
        msg = f"the body must be a JSON object, got {_json_kind(body)}"
        raise ProtocolError(400, "invalid_type", msg)
    platforms = _check_platform_list(body)
    text, media, alt_text = _check_content(body)
    options = _check_options(body, platforms)
    return ReceivedWrite(
        platforms=platforms,
        text=text,
        media=media,
        alt_text=alt_text,
        options=options,
        fingerprint=fingerprint,
    )


def check_content_type(content_type: str | None) -> None:
    """Check that a ``Content-Type`` header announces a JSON body in UTF-8.

    Raises:
        ProtocolError: 400 ``invalid_content_type`` for anything else.
    """
    mime, _, parameters = (content_type or "").partition(";")
    charset = "utf-8"
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if mime.strip().lower() != "application/json" or charset not in {"utf-8", "utf8"}:
        shown = content_type if content_type else "none"
        msg = f"send the body as JSON with Content-Type: application/json (got {shown})"
        raise ProtocolError(400, "invalid_content_type", msg)


def _reject_constant(name: str) -> object:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def decode_json(raw: bytes) -> object:
    """Decode a JSON body; ``NaN`` and the infinities, which JSON lacks, are refused.

    Raises:
        ProtocolError: 400 ``invalid_json`` when ``raw`` is not UTF-8 JSON.
    """
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"the body is not valid UTF-8 JSON: {exc}"
        raise ProtocolError(400, "invalid_json", msg) from exc


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _check_platform_list(body: Mapping[str, Any]) -> tuple[str, ...]:
    if "platforms" not in body or body["platforms"] is None:
        msg = 'platforms is required: a list of platform ids, e.g. ["x", "bluesky"]'
        raise ProtocolError(400, "parameter_missing", msg, param="platforms")
    platforms = body["platforms"]
    if not isinstance(platforms, list):
        msg = f'platforms must be a list of platform ids, e.g. ["x"], got {_json_kind(platforms)}'
        raise ProtocolError(400, "invalid_type", msg, param="platforms")
    if not platforms:
        msg = "platforms is empty: name at least one platform"
        raise ProtocolError(400, "platforms_empty", msg, param="platforms")
    if len(platforms) > MAX_PLATFORMS:
        msg = f"platforms names {len(platforms)} platforms; at most {MAX_PLATFORMS} are allowed"
        raise ProtocolError(400, "too_many_platforms", msg, param="platforms")
    seen: set[str] = set()
    for index, platform in enumerate(platforms):
        param = f"platforms[{index}]"
        if not isinstance(platform, str):
            msg = f"each platform must be a string id, got {_json_kind(platform)}"
            raise ProtocolError(400, "invalid_type", msg, param=param)
        if not PLATFORM_ID.fullmatch(platform):
            msg = (
                f"{platform!r} is not a platform id: ids are lowercase letters, digits and "
                "underscores, starting with a letter (e.g. 'x', 'instagram')"
            )
            raise ProtocolError(400, "invalid_platform", msg, param=param)
        if platform in seen:
            msg = f"platform {platform!r} is listed twice"
            raise ProtocolError(400, "duplicate_platform", msg, param=param)
        seen.add(platform)
    return tuple(platforms)


def _check_content(
    body: Mapping[str, Any],
) -> tuple[str | None, tuple[str, ...], tuple[str | None, ...]]:
    if "content" not in body or body["content"] is None:
        msg = 'content is required: an object with "text", "media", or both'
        raise ProtocolError(400, "parameter_missing", msg, param="content")
    content = body["content"]
    if not isinstance(content, dict):
        msg = f'content must be an object with "text" and/or "media", got {_json_kind(content)}'
        raise ProtocolError(400, "invalid_type", msg, param="content")
    text = content.get("text")
    if text is not None and not isinstance(text, str):
        msg = f"content.text must be a string, got {_json_kind(text)}"
        raise ProtocolError(400, "invalid_type", msg, param="content.text")
    media = _check_media(content.get("media"))
    if not text and not media:
        msg = "content needs text, media, or both; both are empty"
        raise ProtocolError(400, "content_empty", msg, param="content")
    alt_text = _check_alt_text(content.get("alt_text"), media)
    return text, media, alt_text


def _check_media(media: object) -> tuple[str, ...]:
    if media is None:
        return ()
    items: list[object]
    if isinstance(media, str):
        items = [media]
    elif isinstance(media, list):
        items = media
    else:
        msg = f"content.media must be a URL or a list of URLs, got {_json_kind(media)}"
        raise ProtocolError(400, "invalid_type", msg, param="content.media")
    if len(items) > MAX_MEDIA:
        msg = f"content.media has {len(items)} items; at most {MAX_MEDIA} are allowed"
        raise ProtocolError(400, "too_many_media", msg, param="content.media")
    urls: list[str] = []
    for index, item in enumerate(items):
        param = "content.media" if isinstance(media, str) else f"content.media[{index}]"
        if not isinstance(item, str):
            msg = f"each media item must be a URL string, got {_json_kind(item)}"
            raise ProtocolError(400, "invalid_type", msg, param=param)
        if not _is_absolute_http_url(item):
            msg = (
                f"{item!r} is not an absolute http(s) URL; upload local files first "
                f"(POST {UPLOADS_PATH}) and send the URL they get"
            )
            raise ProtocolError(400, "invalid_media_url", msg, param=param)
        urls.append(item)
    return tuple(urls)


def _is_absolute_http_url(value: str) -> bool:
    if value != value.strip() or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(hostname)


def _check_alt_text(alt_text: object, media: tuple[str, ...]) -> tuple[str | None, ...]:
    if alt_text is None:
        return (None,) * len(media)
    if isinstance(alt_text, str):
        if not media:
            msg = "content.alt_text describes media, but content.media is empty"
            raise ProtocolError(400, "alt_text_without_media", msg, param="content.alt_text")
        return (alt_text,) * len(media)
    if not isinstance(alt_text, list):
        msg = (
            "content.alt_text must be a string (for all media) or a list with one entry "
            f"per media item, got {_json_kind(alt_text)}"
        )
        raise ProtocolError(400, "invalid_type", msg, param="content.alt_text")
    if len(alt_text) != len(media):
        msg = (
            f"content.alt_text has {len(alt_text)} entries but content.media has "
            f"{len(media)} items; give one per media item, or a single string for all"
        )
        raise ProtocolError(400, "alt_text_mismatch", msg, param="content.alt_text")
    texts: list[str | None] = []
    for index, item in enumerate(alt_text):
        if item is not None and not isinstance(item, str):
            msg = f"each alt text must be a string or null, got {_json_kind(item)}"
            raise ProtocolError(400, "invalid_type", msg, param=f"content.alt_text[{index}]")
        texts.append(item)
    return tuple(texts)


def _check_options(
    body: Mapping[str, Any], platforms: tuple[str, ...]
) -> Mapping[str, Mapping[str, Any]]:
    options = body.get("options")
    if options is None:
        return MappingProxyType({})
    if not isinstance(options, dict):
        msg = f"options must be an object keyed by platform id, got {_json_kind(options)}"
        raise ProtocolError(400, "invalid_type", msg, param="options")
    checked: dict[str, Mapping[str, Any]] = {}
    for platform, value in options.items():
        param = f"options.{platform}"
        if platform not in platforms:
            msg = (
                f"options has an entry for {platform!r}, which is not in platforms; "
                "add the platform or drop its options"
            )
            raise ProtocolError(400, "unknown_option_platform", msg, param=param)
        if not isinstance(value, dict):
            msg = f"options.{platform} must be an object, got {_json_kind(value)}"
            raise ProtocolError(400, "invalid_type", msg, param=param)
        checked[platform] = MappingProxyType(dict(value))
    return MappingProxyType(checked)


def wants_event_stream(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header asks for the streaming answer.

    Streaming is chosen when ``text/event-stream`` is acceptable and no JSON
    type is preferred to it by quality; without an ``Accept`` header the answer
    is plain JSON.
    """
    if not accept:
        return False
    stream_quality = 0.0
    json_quality = 0.0
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_range = media_range.lower()
        if media_range == ACCEPT_STREAM:
            stream_quality = max(stream_quality, quality)
        elif media_range in {"application/json", "application/*", "*/*"}:
            json_quality = max(json_quality, quality)
    return stream_quality > 0 and stream_quality >= json_quality


def last_event_id(value: str | None) -> int:
    """Return the ``Last-Event-ID`` header as an event id (0, replay all, when absent or bad)."""
    if value is None or not _EVENT_ID.fullmatch(value.strip()):
        return 0
    return int(value.strip())
