"""Media against each platform's rules: kinds, counts, sizes; pure, no I/O.

``check_media`` is what a write's local checks and the sandbox use;
``media_problems`` lists every problem, each with its ``WARNING_*`` for ``preview``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import get_args

from ._table import RULES, MediaKind, PlatformRules

__all__ = [
    "WARNING_MEDIA_KIND_UNSUPPORTED",
    "WARNING_MEDIA_MIXED",
    "WARNING_MEDIA_REQUIRED",
    "WARNING_MEDIA_TOO_LARGE",
    "WARNING_TOO_MANY_MEDIA",
    "check_media",
    "guess_media_kind",
    "media_problems",
]

# What preview warns about for media; the others are in _preview.
WARNING_MEDIA_REQUIRED = "media required but missing"
"""The platform needs an image or video and the post has none."""
WARNING_TOO_MANY_MEDIA = "too many media"
"""More media items (or of one kind) than the platform takes."""
WARNING_MEDIA_KIND_UNSUPPORTED = "media kind not accepted"
"""A media item is of a kind the platform does not take (a GIF on TikTok)."""
WARNING_MEDIA_MIXED = "media kinds mixed"
"""Images and videos together where the platform takes one kind per post."""
WARNING_MEDIA_TOO_LARGE = "media too large"
"""A local file is over the platform's size limit for its kind."""

_VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpeg", ".mpg"})


def guess_media_kind(source: str | os.PathLike[str], content_type: str | None = None) -> MediaKind:
    """Return the kind of a media item from its MIME type, else its file extension.

    Example:
        >>> guess_media_kind("clip.MP4"), guess_media_kind("x.gif"), guess_media_kind("a.jpg")
        ('video', 'gif', 'image')
        >>> guess_media_kind("https://cdn.example.com/f", content_type="video/mp4")
        'video'
    """
    if content_type:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "image/gif":
            return "gif"
        if kind.startswith("video/"):
            return "video"
        if kind.startswith("image/"):
            return "image"
    path = os.fspath(source).split("?", 1)[0].split("#", 1)[0]
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        return "gif"
    if extension in _VIDEO_EXTENSIONS:
        return "video"
    return "image"


_PLURAL: Mapping[MediaKind, str] = {"image": "images", "gif": "GIFs", "video": "videos"}


def _plural(kind: MediaKind) -> str:
    return _PLURAL[kind]


def media_problems(
    rules: PlatformRules, items: Sequence[tuple[MediaKind, int | None]]
) -> list[tuple[str, str, str]]:
    """Return ``(error code, warning, message)`` for each problem, most important first."""
    problems: list[tuple[str, str, str]] = []
    if not items:
        if rules.media_required:
            message = (
                f"{rules.name} needs an image or a video; add media, or leave "
                f"{rules.id} out of this post"
            )
            problems.append(("media_required", WARNING_MEDIA_REQUIRED, message))
        return problems
    if len(items) > rules.max_media:
        message = (
            f"{rules.name} takes at most {rules.max_media} media items in one post, "
            f"got {len(items)}; remove {len(items) - rules.max_media}"
        )
        problems.append(("media_unsupported", WARNING_TOO_MANY_MEDIA, message))
    kinds = [kind for kind, _ in items]
    for kind in get_args(MediaKind):
        count = kinds.count(kind)
        allowed = rules.max_of_kind(kind)
        if count and not allowed:
            message = f"{rules.name} does not take {_plural(kind)}; remove them for {rules.id}"
            problems.append(("media_unsupported", WARNING_MEDIA_KIND_UNSUPPORTED, message))
        elif count > allowed and len(items) <= rules.max_media:
            message = (
                f"{rules.name} takes at most {allowed} {_plural(kind)} in one post, got {count}"
            )
            problems.append(("media_unsupported", WARNING_TOO_MANY_MEDIA, message))
    if not rules.mixed_media and len(set(kinds)) > 1:
        message = (
            f"{rules.name} does not mix images, GIFs and videos in one post; post one kind only"
        )
        problems.append(("media_unsupported", WARNING_MEDIA_MIXED, message))
    for index, (kind, size) in enumerate(items):
        most = rules.max_bytes(kind)
        if size is not None and most is not None and size > most:
            message = (
                f"media item {index} is {size:,} bytes; {rules.name} takes "
                f"{_plural(kind)} up to {most:,} bytes, so make it smaller"
            )
            problems.append(("media_unsupported", WARNING_MEDIA_TOO_LARGE, message))
    return problems


def check_media(
    platform: str, items: Sequence[tuple[MediaKind, int | None]]
) -> tuple[str, str] | None:
    """Check a post's media against ``platform``'s rules; pure, no I/O.

    Args:
        platform: a platform id; a platform not in ``RULES`` accepts anything.
        items: one ``(kind, size in bytes)`` per media item, in order; the
            size is ``None`` when unknown (a URL), and then not checked.

    Returns:
        ``None`` when the platform accepts the media, else ``(error_code,
        message)`` for the first problem: ``media_required`` when media is
        required and there is none, ``media_unsupported`` for too many items,
        a kind the platform does not take, mixed kinds where they may not be
        mixed, or an item over its size limit.

    Example:
        >>> check_media("x", [("image", 1000)] * 5)[0]
        'media_unsupported'
        >>> check_media("instagram", [])[0]
        'media_required'
        >>> check_media("x", [("video", None)]) is None
        True
    """
    rules = RULES.get(platform)
    if rules is None:
        return None
    problems = media_problems(rules, items)
    if not problems:
        return None
    code, _, message = problems[0]
    return code, message
