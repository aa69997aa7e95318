"""Input checks for a write, all done before any upload or network call.

Every problem is a ``ValidationError`` whose ``param`` names the field in the
protocol's notation (``platforms[2]``, ``content.media[0]``, ``options.x``) and
whose message says how to fix it. The only I/O here is looking at local media
files (``stat`` and opening them for reading), which a write must check before
it uploads anything.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ._errors import ValidationError
from ._json import encode_body
from ._models import Content, Media, to_alt_text, to_media_tuple
from ._protocol import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_MEDIA,
    MAX_PLATFORMS,
    PLATFORM_ID,
    is_printable_ascii,
)
from ._request import PLACEHOLDER_URL, LocalFile, WriteRequest, text_only_body, write_body
from .platforms._normalize import normalize_options

__all__ = [
    "validate_content",
    "validate_fan_out_key",
    "validate_idempotency_key",
    "validate_options",
    "validate_platforms",
    "validate_write",
]

MAX_IDEMPOTENCY_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH
_CONTENT_KEYS = ("text", "media", "alt_text")
_CONTENT_KEY_SET = frozenset(_CONTENT_KEYS)


def _type_name(value: object) -> str:
    return type(value).__name__


# Platform lists already found valid, each mapped to itself: a program posts
# to the same few lists again and again. The tuple returned on a hit is the
# one that was checked, never the caller's objects that compare equal to it.
_VALID_PLATFORM_LISTS: dict[tuple[object, ...], tuple[str, ...]] = {}
_VALID_PLATFORM_LISTS_MAX = 256


def validate_platforms(platforms: object) -> tuple[str, ...]:
    """Check ``platforms``: a non-empty list of at most 20 unique lowercase ids."""
    if type(platforms) is list or type(platforms) is tuple:
        try:
            known = _VALID_PLATFORM_LISTS.get(tuple(platforms))
        except TypeError:  # an unhashable item: the checks below name it
            known = None
        if known is not None:
            return known
    checked = _check_platform_list(platforms)
    if len(_VALID_PLATFORM_LISTS) < _VALID_PLATFORM_LISTS_MAX:
        _VALID_PLATFORM_LISTS[checked] = checked
    return checked


def _check_platform_list(platforms: object) -> tuple[str, ...]:
    if isinstance(platforms, (str, bytes)):
        msg = f"must be a list of platform ids, e.g. [{platforms!r}], not a bare string"
        raise ValidationError(msg, param="platforms")
    if not isinstance(platforms, (list, tuple)):
        msg = (
            f"must be a list of platform ids such as ['x', 'bluesky'], not {_type_name(platforms)}"
        )
        raise ValidationError(msg, param="platforms")
    if not platforms:
        msg = "must name at least one platform, e.g. ['x']"
        raise ValidationError(msg, param="platforms")
    if len(platforms) > MAX_PLATFORMS:
        msg = f"names {len(platforms)} platforms; at most {MAX_PLATFORMS} are allowed per write"
        raise ValidationError(msg, param="platforms")
    seen: dict[str, int] = {}
    for index, platform in enumerate(platforms):
        param = f"platforms[{index}]"
        if not isinstance(platform, str):
            msg = f"must be a platform id string, not {_type_name(platform)}"
            raise ValidationError(msg, param=param)
        if not PLATFORM_ID.fullmatch(platform):
            hint = platform.strip().lower()
            if hint != platform and PLATFORM_ID.fullmatch(hint):
                msg = f"platform ids are lowercase: use {hint!r}, not {platform!r}"
            else:
                msg = (
                    f"{platform[:40]!r} is not a platform id: start with a lowercase letter, "
                    "then lowercase letters, digits or '_' (e.g. 'x', 'instagram')"
                )
            raise ValidationError(msg, param=param)
        if platform in seen:
            msg = f"platform {platform!r} is listed twice (also at platforms[{seen[platform]}])"
            raise ValidationError(msg, param=param)
        seen[platform] = index
    # Plain strings: a str subclass could change how it compares or prints later.
    return tuple(str.__str__(platform) for platform in platforms)


def _content_fields(content: object) -> tuple[object, object, object]:
    """The text, media and alt text of a ``Content`` or a content mapping (media normalised)."""
    if type(content) is dict and len(content) == 1 and "text" in content:
        return content["text"], (), None  # text only, the commonest content
    if isinstance(content, Content):
        return content.text, content.media, content.alt_text
    if isinstance(content, str):
        msg = f"must be a Content or a dict such as {{'text': {content[:40]!r}}}, not a bare string"
        raise ValidationError(msg, param="content")
    if not isinstance(content, Mapping):
        msg = (
            "must be a Content or a dict with 'text', 'media' or 'alt_text', "
            f"not {_type_name(content)}"
        )
        raise ValidationError(msg, param="content")
    for key in content:
        if key not in _CONTENT_KEY_SET:
            if not isinstance(key, str):
                msg = f"keys must be strings among {', '.join(_CONTENT_KEYS)}"
                raise ValidationError(msg, param="content")
            guess = difflib.get_close_matches(key, _CONTENT_KEYS, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            msg = f"unknown field {key!r}: content takes {', '.join(_CONTENT_KEYS)}{hint}"
            raise ValidationError(msg, param=f"content.{key}")
    # What ``Content(...)`` would hold, without building one.
    return (
        content.get("text"),
        to_media_tuple(content.get("media")),
        to_alt_text(content.get("alt_text")),
    )


def _check_url(url: str, param: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        msg = f"{url[:80]!r} is not an absolute http(s) URL"
        raise ValidationError(msg, param=param)
    if any(ch.isspace() for ch in url):
        msg = "a media URL may not contain spaces: percent-encode them (%20)"
        raise ValidationError(msg, param=param)
    if parts.username is not None or parts.password is not None:
        msg = "a media URL may not carry credentials (user:password@)"
        raise ValidationError(msg, param=param)
    return url


def _check_local_file(
    source: str | os.PathLike[str], param: str, content_type: str | None
) -> LocalFile:
    try:
        path: object = os.fspath(source)
    except TypeError:
        msg = f"must be a URL or a local path, not {_type_name(source)}"
        raise ValidationError(msg, param=param) from None
    if not isinstance(path, str):
        msg = "a local path must be text, not bytes"
        raise ValidationError(msg, param=param)
    if not path:
        msg = "is an empty path: give an http(s) URL or the path of a local file"
        raise ValidationError(msg, param=param)
    shown = path if len(path) <= 120 else path[:117] + "..."
    try:
        info = os.stat(path)
    except FileNotFoundError:
        msg = f"no such file: {shown!r} (give an http(s) URL or the path of an existing file)"
        raise ValidationError(msg, param=param) from None
    except (OSError, ValueError) as exc:
        msg = f"cannot read {shown!r}: {exc.__class__.__name__}"
        raise ValidationError(msg, param=param) from None
    if stat.S_ISDIR(info.st_mode):
        msg = f"{shown!r} is a directory; give the path of a file inside it"
        raise ValidationError(msg, param=param)
    if not stat.S_ISREG(info.st_mode):
        msg = f"{shown!r} is not a regular file"
        raise ValidationError(msg, param=param)
    if info.st_size == 0:
        msg = f"{shown!r} is empty"
        raise ValidationError(msg, param=param)
    from ._sniff import SNIFF_SIZE, content_type_for  # noqa: PLC0415 - writes with files only

    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_SIZE)
    except OSError as exc:
        msg = f"cannot open {shown!r} for reading: {exc.strerror or exc.__class__.__name__}"
        raise ValidationError(msg, param=param) from None
    return LocalFile(
        source=source,
        path=path,
        size=info.st_size,
        content_type=content_type_for(path, head, declared=content_type, param=param),
    )


def _optional_str(
    value: object, check: Callable[[str], bool], message: str, param: str
) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not check(value):
        raise ValidationError(message, param=param)
    return value


def _check_media_item(item: object, index: int) -> tuple[str | LocalFile, str | None]:
    param = f"content.media[{index}]"
    alt_text: str | None = None
    content_type: str | None = None
    source: object = item
    if isinstance(item, Media):
        source = item.source
        alt_text = _optional_str(
            item.alt_text, lambda _: True, "Media.alt_text must be a string", param
        )
        content_type = _optional_str(
            item.content_type,
            lambda value: "/" in value,
            "Media.content_type must be a MIME type such as 'image/jpeg'",
            param,
        )
    if isinstance(source, str):
        scheme = source.split(":", 1)[0].lower() if ":" in source else ""
        if scheme in ("http", "https"):
            return _check_url(source, param), alt_text
        if "://" in source:
            msg = f"only http(s) URLs or local paths are accepted, not {scheme}:// URLs"
            raise ValidationError(msg, param=param)
        return _check_local_file(source, param, content_type), alt_text
    if isinstance(source, os.PathLike):
        return _check_local_file(source, param, content_type), alt_text
    msg = f"must be an http(s) URL, a local path or a Media, not {_type_name(source)}"
    raise ValidationError(msg, param=param)


def _check_alt_text(
    alt_text: object, per_item: Sequence[str | None], media_count: int
) -> str | tuple[str, ...] | None:
    has_item_alt = any(a is not None for a in per_item)
    if alt_text is None:
        if not has_item_alt:
            return None
        return tuple(a or "" for a in per_item)
    if has_item_alt:
        msg = "give alt text either per Media item or in content.alt_text, not both"
        raise ValidationError(msg, param="content.alt_text")
    if media_count == 0:
        msg = "alt text describes media, but the content has no media"
        raise ValidationError(msg, param="content.alt_text")
    if isinstance(alt_text, str):
        return alt_text
    if not isinstance(alt_text, tuple):
        msg = f"must be a string or a list of strings, not {_type_name(alt_text)}"
        raise ValidationError(msg, param="content.alt_text")
    for index, text in enumerate(alt_text):
        if not isinstance(text, str):
            msg = f"must be a string, not {_type_name(text)}"
            raise ValidationError(msg, param=f"content.alt_text[{index}]")
    if len(alt_text) != media_count:
        msg = (
            f"has {len(alt_text)} texts for {media_count} media items: give one per item, "
            "in the same order, or a single string for all"
        )
        raise ValidationError(msg, param="content.alt_text")
    return alt_text


def validate_content(
    content: object,
) -> tuple[str | None, tuple[str | LocalFile, ...], str | tuple[str, ...] | None]:
    """Check ``content``; return its text, media (URLs and local files) and alt text."""
    text, raw_media, raw_alt_text = _content_fields(content)
    if text is not None and not isinstance(text, str):
        msg = f"must be a string, not {_type_name(text)}"
        raise ValidationError(msg, param="content.text")
    if not isinstance(raw_media, tuple):
        msg = (
            f"must be a URL, a local path, a Media, or a list of them, not {_type_name(raw_media)}"
        )
        raise ValidationError(msg, param="content.media")
    if len(raw_media) > MAX_MEDIA:
        msg = f"has {len(raw_media)} items; at most {MAX_MEDIA} media items are allowed per write"
        raise ValidationError(msg, param="content.media")
    if not raw_media:
        if text is None or not text.strip():
            msg = "needs text, media, or both: e.g. {'text': 'Hello'}"
            raise ValidationError(msg, param="content")
        if raw_alt_text is None:
            return text, (), None
    media: list[str | LocalFile] = []
    per_item_alt: list[str | None] = []
    for index, item in enumerate(raw_media):
        checked_item, alt = _check_media_item(item, index)
        media.append(checked_item)
        per_item_alt.append(alt)
    alt_text = _check_alt_text(raw_alt_text, per_item_alt, len(media))
    return text, tuple(media), alt_text


def validate_options(platforms: Sequence[str], options: object) -> dict[str, dict[str, Any]]:
    """Check ``options``: keyed by platforms of the write, each value a mapping."""
    normalized: dict[str, dict[str, Any]] = normalize_options(platforms, options)
    return normalized


def validate_idempotency_key(key: object) -> str | None:
    """Check a caller's idempotency key: 1 to 255 printable ASCII characters."""
    if key is None:
        return None
    if not isinstance(key, str):
        msg = f"must be a string, not {_type_name(key)}"
        raise ValidationError(msg, param="idempotency_key")
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not is_printable_ascii(key):
        msg = f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
        raise ValidationError(msg, param="idempotency_key")
    return key


def validate_fan_out_key(key: str | None, platforms: tuple[str, ...]) -> None:
    """Check that a fan-out write's keys fit: each platform's is ``f"{key}:{platform}"``.

    Every one must be at most 255 characters, like any ``Idempotency-Key``,
    so a caller's key leaves room for ``:`` and the longest platform id.
    (A fresh key, 35 characters, always does.)
    """
    if key is None:
        return
    longest = max(platforms, key=len)
    room = MAX_IDEMPOTENCY_KEY_LENGTH - 1 - len(longest)
    if len(key) > room:
        msg = (
            f"is {len(key)} characters, too long with fan_out=True: each platform's request "
            f"is sent with the key '<key>:<platform>', at most {MAX_IDEMPOTENCY_KEY_LENGTH} "
            f"characters, so with {longest!r} the key may have at most {room}"
        )
        raise ValidationError(msg, param="idempotency_key")


def validate_write(
    *,
    platforms: object,
    content: object,
    options: object = None,
    idempotency_key: object = None,
) -> WriteRequest:
    """Check a whole write; raise ``ValidationError`` for the first problem found."""
    checked_platforms = validate_platforms(platforms)
    text, media, alt_text = validate_content(content)
    checked_options = validate_options(checked_platforms, options)
    checked_key = validate_idempotency_key(idempotency_key)
    # Encoding the body is the last check: text UTF-8 cannot hold, or an
    # option value JSON cannot, must fail here, not once the write is under way.
    encoded: bytes | None = None
    local_files = tuple([item for item in media if isinstance(item, LocalFile)]) if media else ()
    if not media and not checked_options and alt_text is None and text is not None:
        with contextlib.suppress(UnicodeEncodeError):  # the general encoding names the field
            encoded = text_only_body(checked_platforms, text)
    if encoded is None:
        body = write_body(
            checked_platforms,
            text,
            media,
            alt_text,
            options=checked_options,
            uploaded={item.path: PLACEHOLDER_URL for item in local_files},
        )
        try:
            encoded = encode_body(body)
        except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is one
            raise _unencodable(body, exc) from None
        if local_files:
            encoded = None  # encoded again once the files' URLs are known
    return WriteRequest(
        platforms=checked_platforms,
        text=text,
        media=media,
        alt_text=alt_text,
        options=checked_options,
        idempotency_key=checked_key,
        encoded_body=encoded,
        local_files=local_files,
    )


# Deeper than any body a write needs; deeper still, or a cycle, is refused.
_MAX_DEPTH = 32


def _unencodable(body: Mapping[str, Any], exc: BaseException) -> ValidationError:
    """The error naming the field of ``body`` that JSON in UTF-8 cannot hold."""
    found = _find_unencodable(body, "", set())
    if found is None:  # pragma: no cover - the encoder and this search agree on JSON
        return ValidationError(f"cannot be sent as JSON: {exc}", param="options")
    param, message = found
    return ValidationError(message, param=param)


def _find_unencodable(  # noqa: C901 - one branch per kind of JSON value
    value: object, path: str, within: set[int]
) -> tuple[str, str] | None:
    """The first place in ``value`` that a strict JSON body in UTF-8 cannot hold.

    ``within``: the ids of the containers ``value`` is inside of, to find one inside itself.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return path, (
                f"has a lone surrogate ({value[exc.start]!r} at position {exc.start}), "
                "which cannot be sent as UTF-8; check how the text was decoded"
            )
        return None
    if value is None or isinstance(value, (bool, int, datetime)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"must be a finite number, not {value}"
    if isinstance(value, Decimal) and not value.is_finite():
        return path, f"must be a finite number, not {value}"
    if isinstance(value, (float, Decimal)):
        return None
    if not isinstance(value, (dict, list, tuple)):
        return path, (
            "must be JSON data (text, numbers, true/false, None, lists or dicts), "
            f"not {type(value).__name__}"
        )
    if id(value) in within:
        return path, f"is a {type(value).__name__} inside itself, which JSON cannot hold"
    if len(within) >= _MAX_DEPTH:
        return path, f"is nested more than {_MAX_DEPTH} levels deep"
    within.add(id(value))
    try:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    return path, f"has a key JSON cannot hold: {type(key).__name__} {key!r}"
                found = _find_unencodable(item, f"{path}.{key}" if path else str(key), within)
                if found is not None:
                    return found
        else:
            for index, item in enumerate(value):
                found = _find_unencodable(item, f"{path}[{index}]", within)
                if found is not None:
                    return found
    finally:
        within.discard(id(value))
    return None
