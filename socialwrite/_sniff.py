"""What kind of media a local file is: from its declared type, its name, or its first bytes.

Pure decisions (``sniff_content_type``, ``content_type_for``) plus the one
read they need (``detect_content_type``, the first ``SNIFF_SIZE`` bytes, in a
worker thread). Used by the write's checks, before any request, and by the
upload pipeline.
"""

from __future__ import annotations

import mimetypes
import os

import anyio.to_thread

from ._errors import ValidationError

__all__ = ["SNIFF_SIZE", "content_type_for", "detect_content_type", "sniff_content_type"]

SNIFF_SIZE = 64
"""Enough first bytes to recognize every signature ``sniff_content_type`` knows."""

_MEDIA_TYPES = ("image", "video")


def sniff_content_type(head: bytes) -> str | None:
    r"""Recognize an image or video from its first bytes.

    Knows JPEG, PNG, GIF, WebP, MP4 and QuickTime (the ISO ``ftyp`` box) and
    WebM (EBML).

    Args:
        head: the file's first bytes (64 are enough).

    Returns:
        The MIME type, or ``None`` when the bytes are none of those.

    Example:
        >>> sniff_content_type(b"\x89PNG\r\n\x1a\n...")
        'image/png'
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    return None


def _is_media_type(content_type: str) -> bool:
    kind, slash, subtype = content_type.partition("/")
    return bool(slash and subtype) and kind in _MEDIA_TYPES


def content_type_for(
    filename: str, head: bytes, *, declared: str | None = None, param: str = "content.media"
) -> str:
    """Decide a local file's content type, or refuse the file. Pure.

    The type the caller declared wins; then the file name's (``mimetypes``);
    then a sniff of the first bytes, for names that say nothing useful.

    Args:
        filename: the file's name or path (only its extension matters).
        head: its first bytes (``SNIFF_SIZE`` are enough).
        declared: the type the caller gave (``Media(content_type=...)``), if any.
        param: the field to name in the error, e.g. ``content.media[2]``.

    Returns:
        An ``image/*`` or ``video/*`` MIME type, lowercase.

    Raises:
        ValidationError: the type is declared but not an image or a video, or
            neither the name nor the bytes say it is one.

    Example:
        >>> content_type_for("chart.png", b"")
        'image/png'
    """
    if declared is not None:
        content_type = declared.split(";", 1)[0].strip().lower()
        if not _is_media_type(content_type):
            msg = f"content_type {declared!r} is not an image or video type (image/*, video/*)"
            raise ValidationError(msg, param=param)
        return content_type
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed is not None and _is_media_type(guessed.lower()):
        return guessed.lower()
    sniffed = sniff_content_type(head)
    if sniffed is not None:
        return sniffed
    name = os.path.basename(filename)
    shown = name if len(name) <= 80 else name[:77] + "..."
    if guessed is not None:
        msg = (
            f"{shown!r} is {guessed}, not an image or a video; only images and videos "
            "can be attached"
        )
    else:
        msg = (
            f"cannot tell what {shown!r} is from its name or its first bytes; give it an "
            "image or video extension (.jpg, .png, .gif, .webp, .mp4, .mov, .webm) or "
            "pass Media(source=path, content_type='image/...')"
        )
    raise ValidationError(msg, param=param)


def _read_head(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(SNIFF_SIZE)


async def detect_content_type(
    path: str, *, declared: str | None = None, param: str = "content.media"
) -> str:
    """Read a file's first bytes (in a worker thread) and apply :func:`content_type_for`.

    Raises:
        ValidationError: the file is not an image or a video we can tell, or
            cannot be read.
    """
    try:
        head = await anyio.to_thread.run_sync(_read_head, path)
    except OSError as exc:
        msg = f"cannot read {os.path.basename(path)!r}: {exc.strerror or type(exc).__name__}"
        raise ValidationError(msg, param=param) from None
    return content_type_for(path, head, declared=declared, param=param)
