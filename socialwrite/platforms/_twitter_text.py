"""X's weighted text length (twitter-text v3), in pure Python.

X counts a post the way its open-source twitter-text library does, version 3:

- the text is NFC-normalised first;
- every link counts as 23, however long (X wraps it in a ``t.co`` link);
  links need no ``http://``: ``example.com`` is one too when it ends in a
  real top-level domain;
- every emoji sequence (ZWJ families, skin tones, flags, keycaps) counts 2;
- any other code point counts 1 in the ranges ``0-4351``, ``8192-8205``,
  ``8208-8223`` and ``8242-8247`` (Latin, Greek, Cyrillic, Hebrew, Arabic, ...
  and common punctuation) and 2 elsewhere (CJK, most symbols).

The link rules follow twitter-text's extractor (the same regular expressions,
the same checks for domains without a protocol and for too-long labels), and
are checked against twitter-text's own conformance data in the tests.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterator

import regex

from ._tlds import COUNTRY_TLDS, GENERIC_TLDS

__all__ = [
    "MAX_WEIGHTED_LENGTH",
    "TRANSFORMED_URL_LENGTH",
    "emoji_spans",
    "url_spans",
    "weighted_length",
]

MAX_WEIGHTED_LENGTH = 280
"""The most a post may weigh (twitter-text v3 ``maxWeightedTweetLength``)."""

TRANSFORMED_URL_LENGTH = 23
"""What every link weighs (v3 ``transformedURLLength``)."""

# v3 "ranges": code points that weigh 1; everything else weighs 2 (defaultWeight).
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_DEFAULT_WEIGHT = 2
_EMOJI_WEIGHT = 2

_MAX_URL_LENGTH = 4096
_MAX_DOMAIN_LABEL_LENGTH = 63
_MAX_TCO_SLUG_LENGTH = 40


# The building blocks of twitter-text's link pattern, as character-class bodies
# so that they combine.
_SPACES = r"\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID_CHARS = r"\ufffe\ufeff\uffff"
_DIRECTIONAL_MARKS = r"\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$"
_LATIN_ACCENTS = (
    r"\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
    r"\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"

_DOMAIN_CHAR = f"[^{_PUNCTUATION}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL_MARKS}]"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
# A DNS name has at most 127 labels. Bounding the repetition keeps a long run
# of "a.a.a.a..." from costing quadratic time; no real domain is affected.
_MAX_SUBDOMAINS = 125

# Top-level domains are named lists (matched as sets, longest first) rather
# than a 1,500-way alternation, which the engine would try one by one.
_TLD_END = "(?=[^0-9a-z@+-]|$)"
_GENERIC_TLD = f"(?:\\L<generic_tlds>{_TLD_END})"
_COUNTRY_TLD = f"(?:\\L<country_tlds>{_TLD_END})"
_PUNYCODE_TLD = r"(?:xn--[\-0-9a-z]+)"
# ".co" and ".tv" are so often whole sites that "t.co" is a link even without
# a path, unlike other two-label country domains ("foo.jp" is not).
_SPECIAL_COUNTRY_TLD = r"(?:(?:co|tv)(?=[^0-9a-z@]|$))"
_ANY_TLD = f"(?:{_GENERIC_TLD}|{_COUNTRY_TLD}|{_PUNYCODE_TLD})"

_DOMAIN = f"(?:{_SUBDOMAIN}{{0,{_MAX_SUBDOMAINS}}}{_DOMAIN_NAME}{_ANY_TLD})"

_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_BALANCED_PARENS}))"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

_GENERIC_TLD_LIST = sorted(GENERIC_TLDS)
_COUNTRY_TLD_LIST = sorted(COUNTRY_TLDS)
_FLAGS = regex.IGNORECASE | regex.VERSION0

# A link, matched at the position right after the character before it.
_URL = regex.compile(
    "(https?://)?"  # 1: protocol
    f"({_DOMAIN})"  # 2: domain
    "(?::[0-9]+)?"  # port
    f"(/{_PATH}*)?"  # 3: path
    f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})?",  # query
    _FLAGS,
    generic_tlds=_GENERIC_TLD_LIST,
    country_tlds=_COUNTRY_TLD_LIST,
)
_PRECEDING = regex.compile(f"[^a-z0-9@\\uff20$#\\uff03{_INVALID_CHARS}]", _FLAGS)
_DOMAIN_CHAR_MATCH = regex.compile(_DOMAIN_CHAR, _FLAGS)
_LABEL_RUN = regex.compile(f"(?:[_-]|{_DOMAIN_CHAR})*", _FLAGS)
_PROTOCOL = regex.compile("https?://", _FLAGS)
_DOMAIN_RUN = regex.compile(f"(?:[_.-]|{_DOMAIN_CHAR})+", _FLAGS)
_TLD_DOT = regex.compile(
    f"\\.{_ANY_TLD}", _FLAGS, generic_tlds=_GENERIC_TLD_LIST, country_tlds=_COUNTRY_TLD_LIST
)
_ASCII_DOMAIN = regex.compile(
    f"(?:(?:[\\-a-z0-9{_LATIN_ACCENTS}]+)\\.)+{_ANY_TLD}",
    _FLAGS,
    generic_tlds=_GENERIC_TLD_LIST,
    country_tlds=_COUNTRY_TLD_LIST,
)
_SHORT_COUNTRY_DOMAIN = regex.compile(
    f"{_DOMAIN_NAME}{_COUNTRY_TLD}", _FLAGS, country_tlds=_COUNTRY_TLD_LIST
)
_SPECIAL_SHORT_DOMAIN = regex.compile(f"{_DOMAIN_NAME}{_SPECIAL_COUNTRY_TLD}", _FLAGS)
_TCO_URL = regex.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", _FLAGS)
_BAD_PRECEDING_WITHOUT_PROTOCOL = frozenset("-_./")

# One emoji as a reader sees it: a keycap, a flag, a subdivision flag, or
# pictographs (each with an optional skin tone or emoji presentation
# selector) joined by zero-width joiners. The Latin-1 pictographs (the
# copyright and registered signs) are plain text to X.
_PICTOGRAPH = (
    r"(?:(?![\x00-\xff])\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\ufe0f|(?!\ufe0e)))"
)
_EMOJI = regex.compile(
    r"[#*0-9]\ufe0f?\u20e3"
    r"|\p{Regional_Indicator}{2}"
    r"|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    f"|{_PICTOGRAPH}(?:\\u200d{_PICTOGRAPH})*"
)


def _labels_fit(domain: str) -> bool:
    """Return whether every label of ``domain`` is 1 to 63 characters once punycode-encoded."""
    if domain.startswith("xn--") and not _ASCII_DOMAIN.fullmatch(domain):
        return False
    for label in domain.split("."):
        encoded = label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        if not 1 <= len(encoded) <= _MAX_DOMAIN_LABEL_LENGTH:
            return False
    return True


def _next_start(text: str, start: int) -> int:
    """Return the next start worth trying after no link matched at ``start``.

    A failed start on a domain character fails for every later start in the
    same label too (same end, same labels after it), unless the part before
    holds an underscore (a domain name may not) or a protocol begins there.
    Skipping those starts keeps long runs of, say, CJK text linear instead of
    quadratic, and finds the same links.
    """
    if _DOMAIN_CHAR_MATCH.match(text, start) is None:
        return start + 1
    run_end = _LABEL_RUN.match(text, start).end()  # type: ignore[union-attr]
    underscore = text.rfind("_", start, run_end)
    next_start = run_end if underscore < 0 else underscore + 1
    protocol = _PROTOCOL.search(text, start + 1, next_start + len("https://"))
    if protocol is not None:
        next_start = min(next_start, protocol.start())
    return max(next_start, start + 1)


def _regions(text: str) -> list[tuple[int, int]]:
    """Return the ``[start, end)`` ranges where a link may start, in order.

    A link either starts with a protocol or is a run of domain characters
    and dots that holds a dot followed by a top-level domain; anywhere else
    the pattern cannot match, so it is not tried there.
    """
    tld_dots = [match.start() for match in _TLD_DOT.finditer(text)]
    regions = [(match.start(), match.start() + 1) for match in _PROTOCOL.finditer(text)]
    if tld_dots:
        for run in _DOMAIN_RUN.finditer(text):
            # The last dot before the run's end that starts a top-level domain.
            last = bisect.bisect_left(tld_dots, run.end()) - 1
            if last >= 0 and tld_dots[last] > run.start():
                regions.append((run.start(), tld_dots[last]))
    regions.sort()
    return regions


def _first_match(text: str) -> tuple[str, regex.Match[str]] | None:
    """Return the link at the very start of ``text``, if any, with the character before it.

    twitter-text takes the first character as the one before a link starting
    just after it, and when that fails tries a link starting at 0.
    """
    if len(text) > 1 and _PRECEDING.match(text, 0) is not None:
        match = _URL.match(text, 1)
        if match is not None:
            return text[0], match
    match = _URL.match(text, 0)
    return None if match is None else ("", match)


def _matches(text: str) -> Iterator[tuple[str, regex.Match[str]]]:
    """Yield ``(preceding character, match)`` for each link pattern match, left to right.

    The same matches as twitter-text's global regular expression, which at
    each position takes the character there as the one before a link that
    starts just after it (at the very start, see ``_first_match``), and
    after a match goes on from its end.
    """
    regions = _regions(text)
    if not regions:
        return
    done = 0  # starts below this are settled
    if regions[0][0] <= 1:
        first = _first_match(text)
        if first is not None:
            yield first
        done = 2 if first is None else first[1].end() + 1
    for region_start, region_end in regions:
        start = max(region_start, done)
        while start < region_end:
            if _PRECEDING.match(text, start - 1) is None:
                start += 1
                continue
            match = _URL.match(text, start)
            if match is None:
                start = _next_start(text, start)
                continue
            yield text[start - 1], match
            start = match.end() + 1
        done = max(done, start)


def _protocol_url_end(url: str, start: int, end: int) -> int | None:
    """Return where a link with a protocol ends, or ``None`` when it is no link.

    A ``t.co`` link ends at its slug (and query), whatever follows, and one
    with a slug over 40 characters is none.
    """
    tco = _TCO_URL.match(url)
    if tco is None:
        return end
    if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
        return None
    return start + tco.end()


def _bare_domains(text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
    """Yield the links in a match without a protocol.

    Only the ASCII domains inside the match are links; a lone ``name.cc``
    (two labels, country TLD) is not, unless a path follows or it is one of
    the special short domains.
    """
    domain, path = match.group(2, 3)
    start, end = match.span()
    spans = [(start + m.start(), start + m.end()) for m in _ASCII_DOMAIN.finditer(domain)]
    if not spans:
        return
    if path:
        yield from spans[:-1]
        yield spans[-1][0], end
        return
    for span_start, span_end in spans:
        ascii_domain = text[span_start:span_end]
        if _SPECIAL_SHORT_DOMAIN.fullmatch(ascii_domain) or not _SHORT_COUNTRY_DOMAIN.fullmatch(
            ascii_domain
        ):
            yield span_start, span_end


def _iter_urls(text: str, *, without_protocol: bool) -> Iterator[tuple[int, int]]:
    for before, match in _matches(text):
        protocol, domain = match.group(1, 2)
        url = match.group()
        start, end = match.span()
        if not _labels_fit(domain):
            continue
        # twitter-text counts the protocol (https:// when there is none) on top
        # of the link itself; kept for the same answer on the same input.
        if len(protocol or "https://") + len(url) > _MAX_URL_LENGTH:
            continue
        if protocol:
            url_end = _protocol_url_end(url, start, end)
            if url_end is not None:
                yield start, url_end
        elif without_protocol and before not in _BAD_PRECEDING_WITHOUT_PROTOCOL:
            yield from _bare_domains(text, match)


def url_spans(text: str, *, without_protocol: bool = True) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` code point offsets of every link in ``text``.

    Args:
        text: the text, as it is (not normalised here).
        without_protocol: also find ``example.com`` links without ``http(s)://``.

    Example:
        >>> url_spans("see example.com and http://t.co/abc")
        [(4, 15), (20, 35)]
    """
    if not text or ("." not in text if without_protocol else ":" not in text):
        return []
    spans = sorted(set(_iter_urls(text, without_protocol=without_protocol)))
    # Links never overlap; keep the first of any that would.
    result: list[tuple[int, int]] = []
    for start, end in spans:
        if not result or start >= result[-1][1]:
            result.append((start, end))
    return result


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` code point offsets of every emoji sequence in ``text``.

    Example:
        >>> emoji_spans("hi 👋🏽!")
        [(3, 5)]
    """
    return [match.span() for match in _EMOJI.finditer(text)]


def _code_point_weight(char: str) -> int:
    code_point = ord(char)
    for first, last in _LIGHT_RANGES:
        if first <= code_point <= last:
            return 1
    return _DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """Return the weighted length of ``text`` as X counts it (twitter-text v3).

    Args:
        text: the post's text; it is NFC-normalised first, as X does.

    Example:
        >>> weighted_length("Hi http://test.co")
        26
        >>> weighted_length("故人")
        4
    """
    normalized = unicodedata.normalize("NFC", text)
    entities = {start: (end, TRANSFORMED_URL_LENGTH) for start, end in url_spans(normalized)}
    for start, end in emoji_spans(normalized):
        # A link that starts at the same place wins, as in twitter-text.
        entities.setdefault(start, (end, _EMOJI_WEIGHT))
    total = 0
    index = 0
    length = len(normalized)
    while index < length:
        entity = entities.get(index)
        if entity is not None:
            index, weight = entity
            total += weight
            continue
        total += _code_point_weight(normalized[index])
        index += 1
    return total
