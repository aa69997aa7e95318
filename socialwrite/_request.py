"""A checked write, and its body as the protocol sends it.

``WriteRequest`` is what ``_validate.validate_write`` makes of the caller's
arguments; ``write_body`` and ``text_only_body`` build the JSON body of
``POST /v1/social/write`` from it. No checks here: they are all in ``_validate``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from ._json import json_string

__all__ = ["PLACEHOLDER_URL", "LocalFile", "WriteRequest", "text_only_body", "write_body"]

PLACEHOLDER_URL = "https://upload.invalid/media"
"""Stands for a local file's media URL while the body is checked before its upload."""


@attrs.frozen(kw_only=True)
class LocalFile:
    """A local media file that must be uploaded before the write.

    Attributes:
        source: the path as the caller gave it (events report it back as is).
        path: the path as a string, for opening.
        size: its size in bytes when checked.
        content_type: the MIME type the caller gave, if any.
    """

    source: str | os.PathLike[str]
    path: str
    size: int
    content_type: str | None = None


class WriteRequest:
    """A checked write, ready to upload and send (made by `validate_write`, never changed).

    A plain class rather than an attrs one: one is made per write, on the
    path whose cost the benchmarks measure.

    Attributes:
        platforms: the platform ids, in request order.
        text: the post's text, or ``None``.
        media: each item an absolute URL or a ``LocalFile`` to upload.
        alt_text: one text for all media, one per item, or ``None``.
        options: the JSON-ready options, keyed by platform.
        idempotency_key: the caller's key, or ``None`` for a fresh one.
        encoded_body: the JSON body, encoded, when no local file has to be
            uploaded first (with local files it is encoded once their URLs are known).
        local_files: the media items that are local files, in order.
    """

    __slots__ = (
        "alt_text",
        "encoded_body",
        "idempotency_key",
        "local_files",
        "media",
        "options",
        "platforms",
        "text",
    )

    def __init__(
        self,
        *,
        platforms: tuple[str, ...],
        text: str | None,
        media: tuple[str | LocalFile, ...],
        alt_text: str | tuple[str, ...] | None,
        options: Mapping[str, Mapping[str, Any]],
        idempotency_key: str | None,
        encoded_body: bytes | None = None,
        local_files: tuple[LocalFile, ...] = (),
    ) -> None:
        self.platforms = platforms
        self.text = text
        self.media = media
        self.alt_text = alt_text
        self.options = options
        self.idempotency_key = idempotency_key
        self.encoded_body = encoded_body
        self.local_files = local_files

    def __repr__(self) -> str:
        return (
            f"WriteRequest(platforms={self.platforms!r}, text={self.text!r}, "
            f"media={self.media!r}, alt_text={self.alt_text!r}, options={self.options!r}, "
            f"idempotency_key={self.idempotency_key!r})"
        )

    def body(self, uploaded: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Return the JSON body of the write.

        Args:
            uploaded: the media URL of each local file, keyed by ``LocalFile.path``.
        """
        return write_body(
            self.platforms,
            self.text,
            self.media,
            self.alt_text,
            options=self.options,
            uploaded=uploaded,
        )


def write_body(
    platforms: tuple[str, ...],
    text: str | None,
    media: tuple[str | LocalFile, ...],
    alt_text: str | tuple[str, ...] | None,
    *,
    options: Mapping[str, Mapping[str, Any]],
    uploaded: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The JSON body of a write (see ``WriteRequest.body``)."""
    content: dict[str, Any] = {}
    if text is not None:
        content["text"] = text
    if media:
        urls: list[str] = []
        for item in media:
            if isinstance(item, LocalFile):
                if uploaded is None or item.path not in uploaded:
                    msg = f"local file {item.path!r} has not been uploaded"
                    raise ValueError(msg)
                urls.append(uploaded[item.path])
            else:
                urls.append(item)
        content["media"] = urls
    if alt_text is not None:
        content["alt_text"] = alt_text if isinstance(alt_text, str) else list(alt_text)
    body: dict[str, Any] = {"platforms": list(platforms), "content": content}
    if options:
        body["options"] = {k: dict(v) for k, v in options.items()}
    return body


def text_only_body(platforms: tuple[str, ...], text: str) -> bytes:
    """The encoded body of a write of text alone: what ``encode_body`` gives, built directly.

    The commonest write, made without building the body's dicts first.
    Platform ids need no escaping (``validate_platforms`` allows only
    ``[a-z][a-z0-9_]``); the text is escaped by ``json``'s own string encoder.

    Raises:
        UnicodeEncodeError: the text has a lone surrogate.
    """
    return (
        '{"platforms":["'
        + '","'.join(platforms)
        + '"],"content":{"text":'
        + json_string(text)
        + "}}"
    ).encode()
