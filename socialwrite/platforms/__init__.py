"""The platform rules table, and what follows from it: counting, truncation, preview.

``RULES`` is the one place the per-platform facts live (text limits and how
each platform counts text, media counts and sizes, alt text, the class that
defines the options each platform takes). The SDK's local checks and
``preview`` and the sandbox's formatting all read it; no other module repeats
a limit.

Counting is exactly each platform's own:

- X weighs text with twitter-text v3 (see ``count_text``);
- Bluesky counts grapheme clusters (what a reader sees as one character),
  links in full;
- Mastodon counts code points, with every ``http(s)://`` link as 23;
- the others count code points.

Example:
    >>> count_text("x", "Hello 世界 https://example.com/a/very/long/path")
    34
    >>> format_text("x", "a" * 300)[-3:]
    'aa…'
"""

# One private module per stage, each importing only those before it:
#   _options   the typed options classes: each is its platform's option schema
#   _table     PlatformRules and RULES, one row per platform, pointing at its options class
#   _text      counting (twitter-text in _twitter_text, lazily), hashtags, format_text
#   _media     media kinds, counts and sizes against a row (and the media WARNING_*)
#   _preview   PlatformPreview, preview (and the text WARNING_*)
#   _normalize normalize_options: a write's options, typed or plain, checked and made JSON

from __future__ import annotations

from ._media import (
    WARNING_MEDIA_KIND_UNSUPPORTED,
    WARNING_MEDIA_MIXED,
    WARNING_MEDIA_REQUIRED,
    WARNING_MEDIA_TOO_LARGE,
    WARNING_TOO_MANY_MEDIA,
    check_media,
    guess_media_kind,
)
from ._options import OptionSpec
from ._options import OptionValue as OptionValue
from ._preview import (
    WARNING_ALT_TEXT_TOO_LONG,
    WARNING_TOO_MANY_HASHTAGS,
    WARNING_TRUNCATED,
    PlatformPreview,
    preview,
)
from ._table import RULES, MediaKind, PlatformRules, TextCounting, rules_for
from ._text import ELLIPSIS, count_hashtags, count_text, format_text

__all__ = [
    "ELLIPSIS",
    "RULES",
    "WARNING_ALT_TEXT_TOO_LONG",
    "WARNING_MEDIA_KIND_UNSUPPORTED",
    "WARNING_MEDIA_MIXED",
    "WARNING_MEDIA_REQUIRED",
    "WARNING_MEDIA_TOO_LARGE",
    "WARNING_TOO_MANY_HASHTAGS",
    "WARNING_TOO_MANY_MEDIA",
    "WARNING_TRUNCATED",
    "MediaKind",
    "OptionSpec",
    "PlatformPreview",
    "PlatformRules",
    "TextCounting",
    "check_media",
    "count_hashtags",
    "count_text",
    "format_text",
    "guess_media_kind",
    "preview",
    "rules_for",
]
