"""The one check that turns a write's ``options``, typed or plain, into JSON.

``options`` may be given as typed classes or as plain mappings::

    options = {
        "instagram": InstagramOptions(format="reels", first_comment="#markets"),
        "linkedin": {"visibility": "connections"},
    }

Both forms are checked against the same schema, the options class of each
platform's row in ``RULES``: a class checks its fields when it is built, a
mapping is checked here, field by field, with the same ``OptionSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import ValidationError
from ._options import PlatformOptions
from ._table import RULES, PlatformRules

__all__ = ["normalize_options", "options_class_for"]


def options_class_for(platform: str) -> type[PlatformOptions] | None:
    """Return the typed options class of ``platform``, or ``None`` when it has none."""
    rules = RULES.get(platform)
    return None if rules is None else rules.options_class


def _suggestion(name: str, known: Sequence[str]) -> str:
    import difflib  # noqa: PLC0415 - only a mistake needs it, so not at import

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
            msg = _unknown_option(rules, name)
            raise ValidationError(msg, param=f"options.{platform}.{name}")
        spec.check(option, param=f"options.{platform}.{name}")
    return dict(value)


def _unknown_option(rules: PlatformRules, name: str) -> str:
    known = list(rules.options)
    if not known:
        return f"{rules.name} takes no options; remove {name!r}"
    return (
        f"{rules.name} takes {', '.join(sorted(known))}; {name!r} is not one of them."
        f"{_suggestion(name, sorted(known))}"
    )


def _from_class(platform: str, value: object) -> dict[str, Any]:
    """Return a typed options object's fields that are set, after checking its platform."""
    expected = options_class_for(platform)
    if expected is None or not isinstance(value, expected):
        use = expected.__name__ if expected is not None else "a mapping"
        msg = f"{type(value).__name__} is not for {platform}; use {use}"
        raise ValidationError(msg, param=f"options.{platform}")
    # A field left at its default (None) is omitted: the server applies its own.
    return {
        field.name: getattr(value, field.name)
        for field in attrs.fields(type(value))
        if getattr(value, field.name) is not None
    }


def _check_platform_key(platforms: Sequence[str], platform: object) -> str:
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
    return platform


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
        >>> from socialwrite.platforms._options import XOptions
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
    for key, value in options.items():
        platform = _check_platform_key(platforms, key)
        if isinstance(value, PlatformOptions):
            result[platform] = _from_class(platform, value)
        elif isinstance(value, Mapping):
            result[platform] = _check_mapping(platform, value)
        else:
            expected = options_class_for(platform)
            use = f"{expected.__name__} or a mapping" if expected is not None else "a mapping"
            msg = f"must be {use} of option names to values, not {type(value).__name__}"
            raise ValidationError(msg, param=f"options.{platform}")
    return result
