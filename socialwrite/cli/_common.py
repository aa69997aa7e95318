"""What ``socialwrite post`` and ``socialwrite preview`` share: options, content, errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from .._converter import printable

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_content",
    "content_options",
    "fail",
]

EXIT_OK = 0
"""Every platform succeeded (or the command did what it was asked)."""
EXIT_FAILED = 1
"""A platform failed, or the API did."""
EXIT_USAGE = 2
"""Bad usage or input: nothing was sent."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C (128 + SIGINT, as shells report it)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr as one line (no escape sequence) and exit."""
    click.echo(f"error: {printable(message)}", err=True)
    raise click.exceptions.Exit(code)


def content_options(command: _F) -> _F:
    """Add ``-p``, ``--text``, ``--media`` and ``--alt-text``, the options of any post."""
    decorators = [
        click.option(
            "-p",
            "--platform",
            "platforms",
            multiple=True,
            required=True,
            metavar="PLATFORM",
            help="a platform to post to (repeatable): x, instagram, bluesky, linkedin, ...",
        ),
        click.option("--text", metavar="TEXT", help="the post's text"),
        click.option(
            "--media",
            multiple=True,
            metavar="FILE_OR_URL",
            help="an image or video (repeatable): a local file, uploaded first, "
            "or an http(s) URL, passed as is",
        ),
        click.option(
            "--alt-text",
            multiple=True,
            metavar="TEXT",
            help="the description of the media for screen readers: once for all "
            "media, or once per --media, in the same order",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def build_content(
    text: str | None, media: Sequence[str], alt_texts: Sequence[str]
) -> dict[str, Any]:
    """Return the write's ``content`` from the command's options.

    One ``--alt-text`` describes every media item; several go one per item
    (the SDK checks that the counts match).
    """
    content: dict[str, Any] = {}
    if text is not None:
        content["text"] = text
    if media:
        content["media"] = list(media)
    if len(alt_texts) == 1:
        content["alt_text"] = alt_texts[0]
    elif alt_texts:
        content["alt_text"] = list(alt_texts)
    return content
