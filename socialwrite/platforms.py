"""The platform rules table: the one place the per-platform facts live.

The SDK's local checks and preview and the sandbox's formatting all read
``RULES``; no other module repeats a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["RULES", "PlatformRules", "count_text", "format_text", "rules_for"]

_MB = 1_000_000


@attrs.frozen(kw_only=True)
class PlatformRules:
    """What one platform accepts.

    Attributes:
        id: the platform id used in ``platforms``.
        name: the platform's display name.
        text_limit: the most text a post may carry, as the platform counts it.
        media_required: True when a post without an image or video fails.
        max_media: the most media items in one post.
        max_image_bytes: the largest image, or ``None`` when no image is accepted
            or there is no published limit.
        max_video_bytes: the largest video, or ``None`` likewise.
        alt_text_limit: the longest alt text, or ``None`` when the platform takes none.
    """

    id: str
    name: str
    text_limit: int
    media_required: bool = False
    max_media: int = 1
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    alt_text_limit: int | None = None


_TABLE = (
    PlatformRules(
        id="x", name="X", text_limit=280, max_media=4,
        max_image_bytes=5 * _MB, max_video_bytes=512 * _MB, alt_text_limit=1000,
    ),
    PlatformRules(
        id="bluesky", name="Bluesky", text_limit=300, max_media=4,
        max_image_bytes=1_000_000, max_video_bytes=100 * _MB, alt_text_limit=2000,
    ),
    PlatformRules(id="threads", name="Threads", text_limit=500, max_media=10,
                  max_image_bytes=8 * _MB),
    PlatformRules(
        id="mastodon", name="Mastodon", text_limit=500, max_media=4,
        max_image_bytes=16 * _MB, max_video_bytes=99 * _MB, alt_text_limit=1500,
    ),
    PlatformRules(id="linkedin", name="LinkedIn", text_limit=3000, max_media=9,
                  max_image_bytes=5 * _MB),
    PlatformRules(id="facebook", name="Facebook", text_limit=63206, max_media=10,
                  max_image_bytes=10 * _MB),
    PlatformRules(
        id="instagram", name="Instagram", text_limit=2200, media_required=True, max_media=10,
        max_image_bytes=8 * _MB, max_video_bytes=300 * _MB, alt_text_limit=1000,
    ),
    PlatformRules(id="tiktok", name="TikTok", text_limit=2200, media_required=True,
                  max_media=35, max_video_bytes=1000 * _MB),
    PlatformRules(id="youtube", name="YouTube", text_limit=5000, media_required=True,
                  max_media=1),
    PlatformRules(id="pinterest", name="Pinterest", text_limit=500, media_required=True,
                  max_media=1, max_image_bytes=20 * _MB, alt_text_limit=500),
    PlatformRules(id="reddit", name="Reddit", text_limit=300, max_media=1),
    PlatformRules(id="telegram", name="Telegram", text_limit=4096, max_media=1,
                  max_image_bytes=5 * _MB),
)

RULES: Mapping[str, PlatformRules] = MappingProxyType({rules.id: rules for rules in _TABLE})
"""Every platform the SDK knows, keyed by id. Others are passed to the server as they are."""


def rules_for(platform: str) -> PlatformRules | None:
    """Return the rules of ``platform``, or ``None`` for a platform not in the table."""
    return RULES.get(platform)


# A first cut of the counting and truncation used by the sandbox; the exact
# per-platform counters replace it.
import unicodedata as _unicodedata

import regex as _regex

_URL = _regex.compile(r"https?://[^\s]+", _regex.IGNORECASE)
_GRAPHEME = _regex.compile(r"\X")


def _weight(ch: str) -> int:
    cp = ord(ch)
    if cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247:
        return 1
    return 2


def count_text(platform: str, text: str) -> int:
    """Return the length of ``text`` as ``platform`` counts it."""
    if platform == "x":
        text = _unicodedata.normalize("NFC", text)
        total = 0
        pos = 0
        for m in _URL.finditer(text):
            total += sum(_weight(c) for c in text[pos : m.start()]) + 23
            pos = m.end()
        return total + sum(_weight(c) for c in text[pos:])
    if platform == "bluesky":
        return len(_GRAPHEME.findall(text))
    if platform == "mastodon":
        return len(_URL.sub("x" * 23, text))
    return len(text)


def format_text(platform: str, text: str) -> str:
    """Return ``text`` as ``platform`` publishes it: cut with ``…`` when over the limit."""
    rules = RULES.get(platform)
    if rules is None or count_text(platform, text) <= rules.text_limit:
        return text
    spans = [(m.start(), m.end()) for m in _URL.finditer(text)]
    bounds = [0]
    for m in _GRAPHEME.finditer(text):
        end = m.end()
        if not any(s < end < e for s, e in spans):
            bounds.append(end)
    for end in reversed(bounds):
        candidate = text[:end].rstrip() + "\u2026"
        if count_text(platform, candidate) <= rules.text_limit:
            return candidate
    return "\u2026"
