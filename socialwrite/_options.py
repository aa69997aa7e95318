"""Typed per-platform options, and the one check that turns any options into JSON.

``options`` in a write may be given as typed classes or as plain mappings::

    options = {
        "instagram": InstagramOptions(format="reels", first_comment="#markets"),
        "linkedin": {"visibility": "connections"},
    }

Both forms are checked against the same schema, the ``options`` of each
platform's entry in ``socialwrite.platforms.RULES``; the classes only add
checking at construction and names an editor can complete.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._errors import ValidationError
from .platforms import RULES

__all__ = [
    "InstagramOptions",
    "LinkedInOptions",
    "PinterestOptions",
    "PlatformOptions",
    "RedditOptions",
    "XOptions",
    "YouTubeOptions",
    "normalize_options",
    "options_class_for",
]


def _checked(platform: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """Return an attrs validator that checks a field against ``platform``'s option schema."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        RULES[platform].options[attribute.name].check(
            value, param=f"options.{platform}.{attribute.name}"
        )

    return validate


@attrs.frozen(kw_only=True)
class XOptions:
    """Options for X.

    Args:
        reply_to: the id of the post to reply to.
        quote: the id of the post to quote.

    Example:
        >>> XOptions(reply_to="1861234567890")
        XOptions(reply_to='1861234567890', quote=None)
    """

    reply_to: str | None = attrs.field(default=None, validator=_checked("x"))
    quote: str | None = attrs.field(default=None, validator=_checked("x"))


@attrs.frozen(kw_only=True)
class InstagramOptions:
    """Options for Instagram.

    Args:
        format: where the post appears: ``"feed"``, ``"stories"`` or ``"reels"``.
        first_comment: a comment posted right after the post; it is a separate
            step that can fail on its own after the post succeeded.

    Raises:
        ValidationError: ``format`` is not one of the three.

    Example:
        >>> InstagramOptions(format="reels", first_comment="#markets")
        InstagramOptions(format='reels', first_comment='#markets')
    """

    format: str | None = attrs.field(default=None, validator=_checked("instagram"))
    first_comment: str | None = attrs.field(default=None, validator=_checked("instagram"))


@attrs.frozen(kw_only=True)
class LinkedInOptions:
    """Options for LinkedIn.

    Args:
        visibility: who sees the post: ``"public"`` or ``"connections"``.

    Raises:
        ValidationError: ``visibility`` is not one of the two.
    """

    visibility: str | None = attrs.field(default=None, validator=_checked("linkedin"))


@attrs.frozen(kw_only=True)
class YouTubeOptions:
    """Options for YouTube.

    Args:
        title: the video's title, at most 100 characters.
        privacy: who can watch: ``"public"``, ``"unlisted"`` or ``"private"``.

    Raises:
        ValidationError: the title is too long, or ``privacy`` is not one of the three.
    """

    title: str | None = attrs.field(default=None, validator=_checked("youtube"))
    privacy: str | None = attrs.field(default=None, validator=_checked("youtube"))


@attrs.frozen(kw_only=True)
class PinterestOptions:
    """Options for Pinterest.

    Args:
        board_id: the id of the board to pin to.
        link: the URL the pin links to.
    """

    board_id: str | None = attrs.field(default=None, validator=_checked("pinterest"))
    link: str | None = attrs.field(default=None, validator=_checked("pinterest"))


@attrs.frozen(kw_only=True)
class RedditOptions:
    """Options for Reddit.

    Args:
        subreddit: the subreddit to post to, without ``r/``.
        title: the post's title, at most 300 characters.

    Raises:
        ValidationError: the title is too long.
    """

    subreddit: str | None = attrs.field(default=None, validator=_checked("reddit"))
    title: str | None = attrs.field(default=None, validator=_checked("reddit"))


PlatformOptions = (
    XOptions
    | InstagramOptions
    | LinkedInOptions
    | YouTubeOptions
    | PinterestOptions
    | RedditOptions
)
"""Any of the typed options classes."""

_CLASSES: Mapping[str, type[PlatformOptions]] = {
    "x": XOptions,
    "instagram": InstagramOptions,
    "linkedin": LinkedInOptions,
    "youtube": YouTubeOptions,
    "pinterest": PinterestOptions,
    "reddit": RedditOptions,
}


def options_class_for(platform: str) -> type[PlatformOptions] | None:
    """Return the typed options class of ``platform``, or ``None`` when it has none."""
    return _CLASSES.get(platform)


def _suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_mapping(platform: str, value: Mapping[Any, Any]) -> dict[str, Any]:
    for name in value:
        if not isinstance(name, str):
            msg = f"option names must be strings, got {type(name).__name__} {name!r}"
            raise ValidationError(msg, param=f"options.{platform}")
    rules = RULES.get(platform)
    if rules is None:
        # The server knows platforms this version does not; pass them on as given.
        return dict(value)
    for name, option in value.items():
        spec = rules.options.get(name)
        if spec is None:
            known = sorted(rules.options)
            if known:
                msg = (
                    f"{rules.name} takes {', '.join(known)}; {name!r} is not one of them."
                    f"{_suggestion(name, known)}"
                )
            else:
                msg = f"{rules.name} takes no options; remove {name!r}"
            raise ValidationError(msg, param=f"options.{platform}.{name}")
        spec.check(option, param=f"options.{platform}.{name}")
    return dict(value)


def normalize_options(platforms: Sequence[str], options: object) -> dict[str, dict[str, Any]]:
    """Check a write's ``options`` and return them as JSON-ready dicts; pure.

    Args:
        platforms: the write's platforms; every key of ``options`` must be one.
        options: ``None``, or a mapping from platform to either that
            platform's options class (``XOptions``, ...) or a plain mapping.
            Mappings are checked exactly like the classes for platforms in the
            rules table; for other platforms they pass through unchanged.

    Returns:
        The options keyed by platform, each a plain dict (fields of a typed
        class that are ``None`` are left out).

    Raises:
        ValidationError: with ``param`` ``options`` (not a mapping),
            ``options.<key>`` (not one of ``platforms``, or a value that is
            neither a mapping nor the platform's class), or
            ``options.<platform>.<name>`` (an unknown option, with a
            suggestion when one is close, or a value not allowed).

    Example:
        >>> normalize_options(["x", "linkedin"], {
        ...     "x": XOptions(reply_to="186"), "linkedin": {"visibility": "public"}})
        {'x': {'reply_to': '186'}, 'linkedin': {'visibility': 'public'}}
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        msg = (
            "must be a mapping from platform to its options, e.g. "
            f"{{'instagram': {{'format': 'reels'}}}}, not {type(options).__name__}"
        )
        raise ValidationError(msg, param="options")
    result: dict[str, dict[str, Any]] = {}
    for platform, value in options.items():
        if not isinstance(platform, str):
            msg = f"keys must be platform ids (strings), got {type(platform).__name__}"
            raise ValidationError(msg, param="options")
        if platform not in platforms:
            listed = ", ".join(platforms) or "none"
            msg = (
                f"{platform!r} is not one of this write's platforms ({listed}); add it to "
                f"platforms or remove its options.{_suggestion(platform, list(platforms))}"
            )
            raise ValidationError(msg, param=f"options.{platform}")
        expected = _CLASSES.get(platform)
        if isinstance(value, tuple(_CLASSES.values())):
            if expected is None or not isinstance(value, expected):
                use = expected.__name__ if expected is not None else "a mapping"
                msg = f"{type(value).__name__} is not for {platform}; use {use}"
                raise ValidationError(msg, param=f"options.{platform}")
            # A field left at its default (None) is omitted: the server applies its own.
            result[platform] = {
                field.name: getattr(value, field.name)
                for field in attrs.fields(type(value))
                if getattr(value, field.name) is not None
            }
        elif isinstance(value, Mapping):
            result[platform] = _check_mapping(platform, value)
        else:
            use = f"{expected.__name__} or a mapping" if expected is not None else "a mapping"
            msg = f"must be {use} of option names to values, not {type(value).__name__}"
            raise ValidationError(msg, param=f"options.{platform}")
    return result
