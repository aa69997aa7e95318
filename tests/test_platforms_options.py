"""Typed per-platform options and normalize_options."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from socialwrite._errors import ValidationError
from socialwrite.platforms import RULES, OptionSpec
from socialwrite.platforms._normalize import normalize_options, options_class_for
from socialwrite.platforms._options import (
    InstagramOptions,
    LinkedInOptions,
    PinterestOptions,
    RedditOptions,
    XOptions,
    YouTubeOptions,
)

ALL = [*RULES, "myspace"]

CLASSES: dict[str, type[Any]] = {
    "x": XOptions,
    "instagram": InstagramOptions,
    "linkedin": LinkedInOptions,
    "youtube": YouTubeOptions,
    "pinterest": PinterestOptions,
    "reddit": RedditOptions,
}

VALID: dict[str, dict[str, Any]] = {
    "x": {"reply_to": "1861", "quote": "1862"},
    "instagram": {"format": "reels", "first_comment": "#markets"},
    "linkedin": {"visibility": "connections"},
    "youtube": {"title": "Markets today", "privacy": "unlisted"},
    "pinterest": {"board_id": "b-1", "link": "https://example.com"},
    "reddit": {"subreddit": "investing", "title": "Markets today"},
}


@pytest.mark.parametrize("platform", sorted(CLASSES))
def test_class_is_the_rows_schema(platform: str) -> None:
    """The row points at the class, and its options are the class's fields, in order."""
    cls = CLASSES[platform]
    assert options_class_for(platform) is cls
    assert RULES[platform].options_class is cls
    assert [field.name for field in attrs.fields(cls)] == list(RULES[platform].options)


def test_option_specs_are_read_from_the_class() -> None:
    """Choices and limits come from option(), descriptions from the class docstring."""
    assert RULES["instagram"].options["format"] == OptionSpec(
        name="format",
        description='where the post appears: ``"feed"``, ``"stories"`` or ``"reels"``.',
        choices=("feed", "stories", "reels"),
    )
    first_comment = RULES["instagram"].options["first_comment"]
    assert first_comment.description == (
        "a comment posted right after the post; it is a separate "
        "step that can fail on its own after the post succeeded."
    )
    assert first_comment.choices is None
    assert first_comment.max_length is None
    assert RULES["reddit"].options["title"].max_length == 300


def test_a_subclass_keeps_its_platform() -> None:
    """A subclass of an options class is checked as its platform's, in both places."""

    @attrs.frozen(kw_only=True)
    class MyXOptions(XOptions):
        pass

    with pytest.raises(ValidationError) as info:
        MyXOptions(reply_to=5)  # type: ignore[arg-type]
    assert info.value.param == "options.x.reply_to"
    assert normalize_options(["x"], {"x": MyXOptions(quote="7")}) == {"x": {"quote": "7"}}


def test_platforms_without_a_class() -> None:
    """Platforms whose table entry lists no options have no options class."""
    without = {p for p, rules in RULES.items() if not rules.options}
    assert without == set(RULES) - set(CLASSES)
    assert all(options_class_for(p) is None for p in [*without, "myspace"])


@pytest.mark.parametrize("platform", sorted(CLASSES))
def test_class_form_becomes_json(platform: str) -> None:
    """A fully filled class turns into the same JSON-ready dict as its mapping form."""
    typed = CLASSES[platform](**VALID[platform])
    result = normalize_options([platform], {platform: typed})
    assert result == {platform: VALID[platform]}
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("platform", sorted(CLASSES))
def test_dict_form_is_accepted(platform: str) -> None:
    """The plain mapping form is checked and copied into a new dict."""
    given = dict(VALID[platform])
    result = normalize_options(ALL, {platform: given})
    assert result == {platform: given}
    assert result[platform] is not given


def test_unset_fields_are_left_out() -> None:
    """Fields left at None are omitted, so the server applies its defaults."""
    assert normalize_options(["x"], {"x": XOptions()}) == {"x": {}}
    assert normalize_options(["instagram"], {"instagram": InstagramOptions(format="feed")}) == {
        "instagram": {"format": "feed"}
    }
    assert normalize_options(["youtube"], {"youtube": YouTubeOptions(privacy="private")}) == {
        "youtube": {"privacy": "private"}
    }


def test_classes_are_frozen_and_keyword_only() -> None:
    """Options objects cannot be changed, and take keywords only."""
    options = LinkedInOptions(visibility="public")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.visibility = "connections"  # type: ignore[misc]
    with pytest.raises(TypeError):
        LinkedInOptions("public")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("platform", "field", "value", "words"),
    [
        ("instagram", "format", "reel", "'feed', 'stories', 'reels'"),
        ("linkedin", "visibility", "everyone", "'public', 'connections'"),
        ("youtube", "privacy", "hidden", "'public', 'unlisted', 'private'"),
        ("youtube", "title", "t" * 101, "at most 100"),
        ("reddit", "title", "t" * 301, "at most 300"),
        ("x", "reply_to", 1861, "must be a string"),
        ("pinterest", "board_id", ["b"], "must be a string"),
    ],
)
def test_bad_values_are_refused_in_both_forms(
    platform: str, field: str, value: object, words: str
) -> None:
    """A value outside the schema fails the same way as a class field and as a mapping entry."""
    param = f"options.{platform}.{field}"
    with pytest.raises(ValidationError) as from_class:
        CLASSES[platform](**{field: value})
    assert from_class.value.param == param
    assert words in from_class.value.message
    with pytest.raises(ValidationError) as from_dict:
        normalize_options([platform], {platform: {field: value}})
    assert from_dict.value.param == param
    assert from_dict.value.message == from_class.value.message


def test_null_is_accepted_for_optional_values() -> None:
    """An explicit None (JSON null) passes in the mapping form and stays."""
    assert normalize_options(["x"], {"x": {"reply_to": None}}) == {"x": {"reply_to": None}}


def test_unknown_option_suggests_the_close_one() -> None:
    """A misspelt option name fails with a did-you-mean hint."""
    with pytest.raises(ValidationError) as info:
        normalize_options(["x"], {"x": {"reply_too": "1"}})
    assert info.value.param == "options.x.reply_too"
    assert "Did you mean 'reply_to'?" in info.value.message
    with pytest.raises(ValidationError) as info:
        normalize_options(["instagram"], {"instagram": {"fromat": "feed"}})
    assert "Did you mean 'format'?" in info.value.message


def test_unknown_option_without_a_close_one() -> None:
    """A name near nothing lists what the platform takes, without a guess."""
    with pytest.raises(ValidationError) as info:
        normalize_options(["linkedin"], {"linkedin": {"zzz": 1}})
    assert "visibility" in info.value.message
    assert "Did you mean" not in info.value.message


def test_platform_in_table_without_options_refuses_any() -> None:
    """A table platform with no option schema says it takes none."""
    with pytest.raises(ValidationError) as info:
        normalize_options(["threads"], {"threads": {"topic": "x"}})
    assert info.value.param == "options.threads.topic"
    assert "takes no options" in info.value.message


def test_unknown_platform_options_pass_through() -> None:
    """Options for a platform outside the table go to the server unchanged."""
    given = {"anything": {"nested": [1, 2]}, "flag": True}
    assert normalize_options(["myspace"], {"myspace": given}) == {"myspace": given}


def test_option_key_must_be_a_platform_of_the_write() -> None:
    """A key not among the write's platforms fails with its param and a hint."""
    with pytest.raises(ValidationError) as info:
        normalize_options(["x", "instagram"], {"instagramm": {}})
    assert info.value.param == "options.instagramm"
    assert "Did you mean 'instagram'?" in info.value.message
    with pytest.raises(ValidationError) as info:
        normalize_options(["x"], {"linkedin": LinkedInOptions()})
    assert info.value.param == "options.linkedin"


@pytest.mark.parametrize(
    ("options", "param"),
    [
        (["x"], "options"),
        ("x", "options"),
        ({1: {}}, "options"),
        ({"x": 5}, "options.x"),
        ({"x": "reply_to=1"}, "options.x"),
        ({"x": InstagramOptions()}, "options.x"),
        ({"myspace": XOptions()}, "options.myspace"),
        ({"myspace": {1: "a"}}, "options.myspace"),
        ({"x": {1: "a"}}, "options.x"),
    ],
)
def test_wrong_shapes_name_the_param(options: object, param: str) -> None:
    """Non-mappings, non-string keys and the wrong class fail with the offending param."""
    with pytest.raises(ValidationError) as info:
        normalize_options(["x", "myspace"], options)
    assert info.value.param == param


def test_none_means_no_options() -> None:
    """No options at all gives an empty dict."""
    assert normalize_options(["x"], None) == {}
    assert normalize_options(["x"], {}) == {}


def test_normalize_is_pure() -> None:
    """The caller's mappings are neither changed nor shared with the result."""
    given = {"x": {"reply_to": "1"}}
    result = normalize_options(["x"], given)
    result["x"]["quote"] = "2"
    assert given == {"x": {"reply_to": "1"}}
