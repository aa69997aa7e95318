"""Text as each platform counts it, hashtags, and cutting text to fit.

Counting is exactly each platform's own:

- X weighs text with twitter-text v3 (``_twitter_text``);
- Bluesky counts grapheme clusters (what a reader sees as one character),
  links in full;
- Mastodon counts code points, with every ``http(s)://`` link as 23;
- the others count code points.

``regex`` and the twitter-text patterns are compiled on first use, not at
import, so ``import socialwrite`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ._table import RULES, PlatformRules, TextCounting

if TYPE_CHECKING:
    import regex

__all__ = ["ELLIPSIS", "count_hashtags", "count_text", "count_with", "format_text"]

ELLIPSIS = "\u2026"
"""What a cut text ends with (``…``, one character)."""


@functools.cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    """Grapheme clusters and hashtags, compiled on first use (``import socialwrite`` stays fast)."""
    import regex  # noqa: PLC0415

    return (
        regex.compile(r"\X"),
        regex.compile(r"(?<![\p{L}\p{M}\p{N}_&/])[#\uff03][\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_]"),
    )


def _twitter_weighted(rules: PlatformRules, text: str) -> int:
    from . import _twitter_text  # noqa: PLC0415 - compiled on first use, not at import

    return _twitter_text.weighted_length(text)


def _graphemes(rules: PlatformRules, text: str) -> int:
    return sum(1 for _ in _patterns()[0].finditer(text))


def _code_points(rules: PlatformRules, text: str) -> int:
    if rules.url_length is None:
        return len(text)
    from . import _twitter_text  # noqa: PLC0415 - compiled on first use, not at import

    spans = _twitter_text.url_spans(text, without_protocol=False)
    return len(text) + sum(rules.url_length - (end - start) for start, end in spans)


COUNTERS: Mapping[TextCounting, Callable[[PlatformRules, str], int]] = {
    "twitter_weighted": _twitter_weighted,
    "graphemes": _graphemes,
    "code_points": _code_points,
}
"""How each ``TextCounting`` mode counts a text; every mode has one."""


def count_with(rules: PlatformRules, text: str) -> int:
    """Return the length of ``text`` as the platform of ``rules`` counts it."""
    return COUNTERS[rules.text_counting](rules, text)


def count_text(platform: str, text: str) -> int:
    """Return the length of ``text`` as ``platform`` counts it.

    Args:
        platform: a platform id; one not in ``RULES`` counts code points.
        text: the text.

    Returns:
        X: the twitter-text v3 weighted length (NFC first; most Latin, Greek,
        Cyrillic, Hebrew, Arabic and common punctuation weigh 1, CJK and other
        scripts 2; every link 23, with or without ``http://``; every emoji
        sequence 2). Bluesky: grapheme clusters. Mastodon: code points with
        every ``http(s)://`` link as 23. Others: code points.

    Example:
        >>> count_text("x", "👨‍👩‍👧‍👦 family"), count_text("bluesky", "👨‍👩‍👧‍👦 family")
        (9, 8)
    """
    rules = RULES.get(platform)
    if rules is None:
        return len(text)
    return count_with(rules, text)


def count_hashtags(text: str) -> int:
    """Return how many hashtags (``#word``) ``text`` holds.

    Example:
        >>> count_hashtags("#one #two and #3rd, not a#b or #123")
        3
    """
    return sum(1 for _ in _patterns()[1].finditer(text))


def _cut_points(text: str) -> list[int]:
    """Return the offsets where ``text`` may be cut, ascending, starting with 0.

    Grapheme-cluster boundaries, minus those inside a link (any link, with
    or without a protocol) or inside an emoji sequence.
    """
    from . import _twitter_text  # noqa: PLC0415 - compiled on first use, not at import

    inside = bytearray(len(text) + 1)
    for start, end in (*_twitter_text.url_spans(text), *_twitter_text.emoji_spans(text)):
        inside[start + 1 : end] = b"\x01" * (end - start - 1)
    points = [0]
    points.extend(match.end() for match in _patterns()[0].finditer(text) if not inside[match.end()])
    return points


def format_text(platform: str, text: str, *, with_media: bool = False) -> str:
    """Return ``text`` as ``platform`` publishes it: whole when it fits, else cut with ``…``.

    Over the limit the text is cut at a grapheme-cluster boundary, never
    inside a link (the cut goes before it) or an emoji sequence, with the
    whitespace before the cut dropped and ``…`` added, so that the result,
    counted as the platform counts it, fits the limit. It is the longest
    such prefix in all but contrived cases (a cut that turns a word into a
    link can count more, then a shorter cut is taken).

    Args:
        platform: a platform id; text for a platform not in ``RULES`` is
            returned unchanged.
        text: the post's text.
        with_media: whether the post carries media (Telegram allows 1024
            characters in a media caption, 4096 otherwise).

    Example:
        >>> cut = format_text("x", "word " * 100)
        >>> cut[-4:], count_text("x", cut)
        ('wor…', 280)
        >>> format_text("x", "short") == "short"
        True
    """
    rules = RULES.get(platform)
    if rules is None:
        return text
    limit = rules.limit(with_media=with_media)
    if count_with(rules, text) <= limit:
        return text
    points = _cut_points(text)

    def candidate(index: int) -> str:
        # Whitespace right before the cut is dropped, whole clusters at a time.
        while index > 0 and text[points[index - 1] : points[index]].isspace():
            index -= 1
        return text[: points[index]] + ELLIPSIS

    # Counting is monotonic in practice, so a binary search finds the longest
    # prefix that fits; each step is an exact count, so the answer always fits.
    low, high = 0, len(points) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if count_with(rules, candidate(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return candidate(low)
