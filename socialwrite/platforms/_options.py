"""Typed per-platform options: each class is its platform's option schema.

A platform's options are written once, as one attrs class here: its fields are
the option names, ``option(...)`` says which values each takes, and the class
docstring's ``Args:`` says what each does. The platform's row in the table
points at the class (``options_class=XOptions``), and the mapping form of
``options`` (``{"instagram": {"format": "reels"}}``) is checked against the
same fields by ``normalize_options``, so both forms fail the same way.

To give a platform options: write its class with ``@options_for("<id>")`` over
``@attrs.frozen(kw_only=True)``, add it to ``PlatformOptions``, point the row at
it, and export it from ``socialwrite``; ``tests/test_platforms_table.py`` fails
until every part is there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeAlias, TypeVar

import attrs

from .._errors import ValidationError

__all__ = [
    "InstagramOptions",
    "LinkedInOptions",
    "OptionSpec",
    "OptionValue",
    "PinterestOptions",
    "PlatformOptions",
    "RedditOptions",
    "XOptions",
    "YouTubeOptions",
    "option",
    "option_specs",
    "options_for",
    "platform_of",
]

OptionValue: TypeAlias = str | None
"""What an option takes: a string, or ``None`` to leave it to the server's default."""

_CLASS = TypeVar("_CLASS", bound=type[Any])

# The key under which ``option`` keeps a field's allowed values in its attrs metadata.
_RULE = "socialwrite.option"


@attrs.frozen(kw_only=True)
class OptionSpec:
    """One option a platform takes in ``options``, as its options class defines it.

    Read from the class, never written by hand: ``RULES["youtube"].options["title"]``.

    Attributes:
        name: the option's name (``"format"``), the options class's field.
        description: what it does, from the class docstring's ``Args:``
            (empty when Python runs with docstrings stripped, ``-OO``).
        choices: the allowed values, or ``None`` for any string.
        max_length: the longest value in characters, or ``None`` for no limit.

    Every option value is a string, or ``None`` (JSON ``null``) to leave the
    option to the server's default.
    """

    name: str
    description: str
    choices: tuple[str, ...] | None = None
    max_length: int | None = None

    def check(self, value: object, *, param: str) -> OptionValue:
        """Return ``value`` if this option accepts it.

        Args:
            value: the value given.
            param: where it was given (``options.instagram.format``), for the error.

        Raises:
            ValidationError: the value is not a string or ``None``, is not one
                of the choices, or is too long.
        """
        if value is None:
            return None
        if not isinstance(value, str):
            msg = f"must be a string, not {type(value).__name__}"
            raise ValidationError(msg, param=param)
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(choice) for choice in self.choices)
            msg = f"must be one of {allowed}, not {value!r}"
            raise ValidationError(msg, param=param)
        if self.max_length is not None and len(value) > self.max_length:
            msg = f"is {len(value)} characters; at most {self.max_length} are allowed, shorten it"
            raise ValidationError(msg, param=param)
        return value


_PLATFORM_OF: dict[type[Any], str] = {}


def options_for(platform: str) -> Callable[[_CLASS], _CLASS]:
    """Mark an attrs class as the options of ``platform`` (for its errors' ``param``)."""

    def register(cls: _CLASS) -> _CLASS:
        _PLATFORM_OF[cls] = platform
        return cls

    return register


def platform_of(cls: type[Any]) -> str | None:
    """Return the platform whose options ``cls`` (or a base of it) holds, else ``None``."""
    for klass in cls.__mro__:
        if klass in _PLATFORM_OF:
            return _PLATFORM_OF[klass]
    return None


def _check_field(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    cls = type(instance)
    param = f"options.{platform_of(cls)}.{attribute.name}"
    option_specs(cls)[attribute.name].check(value, param=param)


def option(*, choices: tuple[str, ...] | None = None, max_length: int | None = None) -> Any:
    """Declare one option of an options class: a string, ``None`` by default.

    ``None`` leaves the option out of the request, so the server applies its
    default.

    Args:
        choices: the allowed values, or ``None`` for any string.
        max_length: the longest value in characters, or ``None`` for no limit.
    """
    return attrs.field(
        default=None,
        validator=_check_field,
        metadata={_RULE: (choices, max_length)},
    )


def _documented(doc: str | None) -> dict[str, str]:
    """Return each entry of a Google-style ``Args:`` section by name, its lines joined."""
    entries: dict[str, str] = {}
    lines = iter((doc or "").splitlines())
    for line in lines:
        if line.strip() == "Args:":
            section_indent = len(line) - len(line.lstrip())
            break
    else:
        return entries
    name, entry_indent = "", section_indent
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent <= section_indent:
            break
        if name and indent > entry_indent:
            entries[name] += " " + line.strip()
            continue
        entry_indent = indent
        name, _, text = line.strip().partition(":")
        entries[name] = text.strip()
    return entries


_SPECS: dict[type[Any], Mapping[str, OptionSpec]] = {}


def option_specs(cls: type[Any]) -> Mapping[str, OptionSpec]:
    """Return the options an options class defines, by name, in field order.

    Read from the class (its fields and docstring) on first use, then kept.
    """
    if cls in _SPECS:
        return _SPECS[cls]
    described = _documented(cls.__doc__)
    specs = {}
    for field in attrs.fields(cls):
        choices, max_length = field.metadata[_RULE]
        specs[field.name] = OptionSpec(
            name=field.name,
            description=described.get(field.name, ""),
            choices=choices,
            max_length=max_length,
        )
    _SPECS[cls] = MappingProxyType(specs)
    return _SPECS[cls]


@options_for("x")
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

    reply_to: str | None = option()
    quote: str | None = option()


@options_for("instagram")
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

    format: str | None = option(choices=("feed", "stories", "reels"))
    first_comment: str | None = option()


@options_for("linkedin")
@attrs.frozen(kw_only=True)
class LinkedInOptions:
    """Options for LinkedIn.

    Args:
        visibility: who sees the post: ``"public"`` or ``"connections"``.

    Raises:
        ValidationError: ``visibility`` is not one of the two.
    """

    visibility: str | None = option(choices=("public", "connections"))


@options_for("youtube")
@attrs.frozen(kw_only=True)
class YouTubeOptions:
    """Options for YouTube.

    Args:
        title: the video's title, at most 100 characters.
        privacy: who can watch: ``"public"``, ``"unlisted"`` or ``"private"``.

    Raises:
        ValidationError: the title is too long, or ``privacy`` is not one of the three.
    """

    title: str | None = option(max_length=100)
    privacy: str | None = option(choices=("public", "unlisted", "private"))


@options_for("pinterest")
@attrs.frozen(kw_only=True)
class PinterestOptions:
    """Options for Pinterest.

    Args:
        board_id: the id of the board to pin to.
        link: the URL the pin links to.
    """

    board_id: str | None = option()
    link: str | None = option()


@options_for("reddit")
@attrs.frozen(kw_only=True)
class RedditOptions:
    """Options for Reddit.

    Args:
        subreddit: the subreddit to post to, without ``r/``.
        title: the post's title, at most 300 characters.

    Raises:
        ValidationError: the title is too long.
    """

    subreddit: str | None = option()
    title: str | None = option(max_length=300)


PlatformOptions: TypeAlias = (
    XOptions
    | InstagramOptions
    | LinkedInOptions
    | YouTubeOptions
    | PinterestOptions
    | RedditOptions
)
"""Any of the typed options classes."""
