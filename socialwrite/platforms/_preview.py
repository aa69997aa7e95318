"""What each platform would receive, computed locally: ``preview``.

The text as the platform publishes it (cut when over the limit), its count
and limit, and a warning for each rule the post breaks; no network call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import ValidationError
from .._models import Content, Media, MediaInput
from ._media import guess_media_kind, media_problems
from ._table import RULES, MediaKind
from ._text import count_hashtags, count_with, format_text

__all__ = [
    "WARNING_ALT_TEXT_TOO_LONG",
    "WARNING_TOO_MANY_HASHTAGS",
    "WARNING_TRUNCATED",
    "PlatformPreview",
    "preview",
]

# What preview warns about for text; those for media are in _media.
WARNING_TRUNCATED = "truncated"
"""The text is over the limit and will be cut (``text`` shows the cut)."""
WARNING_ALT_TEXT_TOO_LONG = "alt text too long"
"""An alt text is over the platform's alt text limit."""
WARNING_TOO_MANY_HASHTAGS = "too many hashtags"
"""More hashtags than the platform allows (Instagram: 30)."""


@attrs.frozen(kw_only=True)
class PlatformPreview:
    """What one platform would receive, computed locally (no network).

    Attributes:
        platform: the platform id.
        text: exactly the text the platform will get (cut when over the limit).
        count: the length of ``text`` as the platform counts it.
        limit: the platform's text limit, or ``None`` for a platform not in
            the rules table.
        warnings: short descriptions of what will not go as written (the
            ``WARNING_*`` constants of ``socialwrite.platforms``), empty when all is well.
    """

    platform: str
    text: str
    count: int
    limit: int | None
    warnings: tuple[str, ...] = ()


_CONTENT_KEYS = frozenset({"text", "media", "alt_text"})


def _content_from(content: object) -> Content:
    if isinstance(content, Content):
        return content
    if not isinstance(content, Mapping):
        msg = (
            "must be a Content or a mapping with text, media and alt_text, "
            f"not {type(content).__name__}"
        )
        raise ValidationError(msg, param="content")
    unknown = sorted(str(key) for key in content if key not in _CONTENT_KEYS)
    if unknown:
        msg = f"unknown field {unknown[0]!r}; content takes text, media and alt_text"
        raise ValidationError(msg, param=f"content.{unknown[0]}")
    text = content.get("text")
    if text is not None and not isinstance(text, str):
        msg = f"must be a string, not {type(text).__name__}"
        raise ValidationError(msg, param="content.text")
    return Content(text=text, media=content.get("media"), alt_text=content.get("alt_text"))


def _is_url(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _media_facts(item: MediaInput) -> tuple[MediaKind, int | None]:
    """Return an item's kind and, for a local file, its size (``None`` when unknown)."""
    source: str | os.PathLike[str]
    content_type = None
    if isinstance(item, Media):
        source, content_type = item.source, item.content_type
    else:
        source = item
    size = None
    if not _is_url(source):
        try:
            size = os.stat(source).st_size
        except OSError:
            # A missing file is the write's validation to report; a preview
            # just cannot tell its size.
            size = None
    return guess_media_kind(source, content_type), size


def _alt_texts(content: Content) -> list[str]:
    texts: list[str] = []
    for index, item in enumerate(content.media):
        alt = item.alt_text if isinstance(item, Media) else None
        if alt is None:
            if isinstance(content.alt_text, str):
                alt = content.alt_text
            elif content.alt_text is not None and index < len(content.alt_text):
                alt = content.alt_text[index]
        if alt is not None:
            texts.append(alt)
    return texts


def _preview_one(
    platform: str, content: Content, media: list[tuple[MediaKind, int | None]]
) -> PlatformPreview:
    text = content.text or ""
    rules = RULES.get(platform)
    if rules is None:
        return PlatformPreview(platform=platform, text=text, count=len(text), limit=None)
    warnings: list[str] = []
    limit = rules.limit(with_media=bool(media))
    formatted = format_text(platform, text, with_media=bool(media))
    if formatted != text:
        warnings.append(WARNING_TRUNCATED)
    if rules.max_hashtags is not None and count_hashtags(formatted) > rules.max_hashtags:
        warnings.append(WARNING_TOO_MANY_HASHTAGS)
    for _, warning, _ in media_problems(rules, media):
        if warning not in warnings:
            warnings.append(warning)
    if rules.alt_text_limit is not None and any(
        len(alt) > rules.alt_text_limit for alt in _alt_texts(content)
    ):
        warnings.append(WARNING_ALT_TEXT_TOO_LONG)
    return PlatformPreview(
        platform=platform,
        text=formatted,
        count=count_with(rules, formatted),
        limit=limit,
        warnings=tuple(warnings),
    )


def preview(
    platforms: Sequence[str], content: Content | Mapping[str, Any]
) -> dict[str, PlatformPreview]:
    """Show what each platform would receive, without any network call.

    Args:
        platforms: platform ids, in the order of the write.
        content: a ``Content``, or a mapping with ``text``, ``media`` and
            ``alt_text`` as ``Content`` takes them.

    Returns:
        One ``PlatformPreview`` per platform, keyed by platform in request order.

    Raises:
        ValidationError: ``content`` is not a ``Content`` or a mapping of its fields.

    Example:
        >>> previews = preview(["x", "instagram"], {"text": "Markets today 📈"})
        >>> previews["x"].count, previews["x"].limit
        (16, 280)
        >>> previews["instagram"].warnings
        ('media required but missing',)
    """
    checked = _content_from(content)
    media = [_media_facts(item) for item in checked.media]
    return {platform: _preview_one(platform, checked, media) for platform in platforms}
