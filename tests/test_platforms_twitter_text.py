"""X's weighted counting against twitter-text's own conformance data (tests/data/twitter-text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import regex
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from socialwrite.platforms import _twitter_text as tt
from socialwrite.platforms import count_text

DATA = Path(__file__).parent / "data" / "twitter-text"
_TESTS: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (DATA / "validate.yml").read_text(encoding="utf-8")
)["tests"]
V3_CONFIG: dict[str, Any] = json.loads((DATA / "v3.json").read_text(encoding="utf-8"))


def _v3_length_cases() -> list[Any]:
    """Every weighted-length case whose expectation holds for the v3 (emoji) counter."""
    discounted = _TESTS["WeightedTweetsWithDiscountedEmojiCounterTest"]
    discounted_texts = {case["text"] for case in discounted}
    # The v2 section repeats most v3 texts with emoji counted per code point;
    # the texts it has alone hold no emoji, so v2 and v3 agree on them.
    v2_only = [
        case for case in _TESTS["WeightedTweetsCounterTest"] if case["text"] not in discounted_texts
    ]
    cases = [*discounted, *_TESTS["UnicodeDirectionalMarkerCounterTest"], *v2_only]
    return [pytest.param(case, id=case["description"][:60]) for case in cases]


V3_CASES = _v3_length_cases()


def test_conformance_data_is_complete() -> None:
    """The copied conformance data holds the v3 sections the counter is checked against."""
    assert len(V3_CASES) == 27
    assert "Apache License" in (DATA / "LICENSE").read_text(encoding="utf-8")


def test_counter_uses_the_v3_configuration() -> None:
    """The limits and weights in the code are those of twitter-text's v3.json."""
    assert V3_CONFIG["version"] == 3
    assert V3_CONFIG["emojiParsingEnabled"] is True
    assert V3_CONFIG["maxWeightedTweetLength"] == tt.MAX_WEIGHTED_LENGTH
    assert V3_CONFIG["transformedURLLength"] == tt.TRANSFORMED_URL_LENGTH
    scale = V3_CONFIG["scale"]
    assert V3_CONFIG["defaultWeight"] // scale == tt._DEFAULT_WEIGHT
    assert (
        tuple(
            (item["start"], item["end"]) for item in V3_CONFIG["ranges"] if item["weight"] == scale
        )
        == tt._LIGHT_RANGES
    )
    assert all(item["weight"] == scale for item in V3_CONFIG["ranges"])


@pytest.mark.parametrize("case", V3_CASES)
def test_weighted_length_matches_conformance(case: dict[str, Any]) -> None:
    """Each conformance case has exactly the expected weighted length."""
    assert tt.weighted_length(case["text"]) == case["expected"]["weightedLength"]
    assert count_text("x", case["text"]) == case["expected"]["weightedLength"]


@pytest.mark.parametrize("case", V3_CASES)
def test_validity_by_length_matches_conformance(case: dict[str, Any]) -> None:
    """Where a case has no invalid characters, it is valid exactly when 0 < length <= 280."""
    invalid = {"\ufffe", "\ufeff", "\uffff"}
    if invalid & set(case["text"]):
        assert case["expected"]["valid"] is False
        return
    length = tt.weighted_length(case["text"])
    assert (0 < length <= V3_CONFIG["maxWeightedTweetLength"]) == case["expected"]["valid"]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["description"][:60]) for c in _TESTS["tweets"]]
)
def test_tweet_validity_cases_by_length(case: dict[str, Any]) -> None:
    """Tweet-validity cases: non-empty ones fit 280; the invalid ones are over the old 140."""
    length = tt.weighted_length(case["text"])
    if not case["text"]:
        assert length == 0
        assert case["expected"] is False
    elif case["expected"]:
        assert 0 < length <= tt.MAX_WEIGHTED_LENGTH
    else:
        assert 140 < length <= tt.MAX_WEIGHTED_LENGTH


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c["description"][:60]) for c in _TESTS["urls_without_protocol"]],
)
def test_urls_without_protocol_count_as_links(case: dict[str, Any]) -> None:
    """Every valid link without a protocol in the conformance data is one link of weight 23."""
    assert case["expected"] is True
    assert tt.url_spans(case["text"]) == [(0, len(case["text"]))]
    assert tt.weighted_length(case["text"]) == tt.TRANSFORMED_URL_LENGTH


# Valid per twitter-text's URL validator, but never extracted by its extractor
# (userinfo, IP addresses): X counts those character by character.
_NOT_EXTRACTED = {"Valid url: port and userinfo", "Valid url: ipv4", "Valid url: ipv6"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c["description"][:60])
        for c in _TESTS["urls"]
        if c["expected"] and c["description"] not in _NOT_EXTRACTED
    ],
)
def test_valid_urls_are_found_as_links(case: dict[str, Any]) -> None:
    """A valid URL from the conformance data is found as a link starting at its first character."""
    spans = tt.url_spans(case["text"])
    assert spans
    assert spans[0][0] == 0


def test_link_rules_around_the_edges() -> None:
    """Bare country domains, bad preceding characters and t.co slugs follow twitter-text."""
    assert tt.url_spans("foo.jp") == []  # two labels, country TLD, no path
    assert tt.url_spans("foo.jp/path") == [(0, 11)]
    assert tt.url_spans("t.co") == [(0, 4)]  # the special short domains
    assert tt.url_spans("a_example.com") == []  # underscore before a bare domain
    assert tt.url_spans("see example.com, ok") == [(4, 15)]
    assert tt.url_spans("file.txt") == []  # not a top-level domain
    assert tt.url_spans("http://t.co/abc!def") == [(0, 15)]
    assert tt.url_spans("example.com", without_protocol=False) == []
    assert tt.url_spans("go to https://example.com", without_protocol=False) == [(6, 25)]


def test_emoji_sequences_weigh_two() -> None:
    """ZWJ families, skin tones, flags, subdivision flags and keycaps each weigh 2."""
    for emoji in ["👨‍👩‍👧‍👦", "👍🏽", "🇯🇵", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "❤️", "🧑🏾‍💻"]:
        assert tt.emoji_spans(emoji) == [(0, len(emoji))], emoji
        assert tt.weighted_length(emoji) == 2, emoji
    assert tt.weighted_length("©") == 1  # Latin-1 signs stay text


def test_long_inputs_stay_fast() -> None:
    """Long runs that defeat a naive scan (CJK before a dot, many underscores) are linear."""
    assert tt.weighted_length("あ" * 20000 + ".") == 40001
    assert tt.weighted_length("あ_" * 10000 + ".") == 30001
    assert tt.weighted_length("a." * 5000) == 10000


_REFERENCE = regex.compile(
    f"(?:[^a-z0-9@\\uff20$#\\uff03{tt._INVALID_CHARS}]|[{tt._DIRECTIONAL_MARKS}]|^)"
    f"({tt._URL.pattern})",
    tt._FLAGS,
    generic_tlds=tt._GENERIC_TLD_LIST,
    country_tlds=tt._COUNTRY_TLD_LIST,
)

_FRAGMENTS = [
    *"ab.-_/:h t?#@()é日",
    "http://",
    "https://",
    ".com",
    ".co",
    ".jp",
    "www.",
    "example",
    "語",
    "ü",
]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=16).map("".join))
def test_link_search_matches_the_plain_regex_scan(text: str) -> None:
    """The skipping search finds exactly what one global regex scan (twitter-text's way) finds."""
    expected = [
        (text[m.start() : m.start(1)], m.span(1), m.group(3)) for m in _REFERENCE.finditer(text)
    ]
    found = [(before, m.span(), m.group(2)) for before, m in tt._matches(text)]
    assert found == expected
