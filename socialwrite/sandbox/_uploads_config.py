"""How the sandbox's media uploads behave: limits, lifetimes, and injected faults.

Kept apart from the upload handlers so that :class:`SandboxConfig` can hold it
without importing aiohttp. The fault settings (``put_delay``,
``drop_put_after``, ``corrupt_uploads``) let tests and benchmarks reproduce
what real networks and storage hosts do (slow answers, connections cut
mid-body, bytes damaged in transit) deterministically, on loopback.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_MAX_UPLOAD_SIZE", "DEFAULT_UPLOAD_TTL", "UploadConfig"]

DEFAULT_MAX_UPLOAD_SIZE = 1024 * 1024 * 1024
"""The largest file the sandbox accepts by default: 1 GiB (TikTok's video limit)."""

DEFAULT_UPLOAD_TTL = 24 * 60 * 60.0
"""Seconds an unfinished upload is kept before it expires."""

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
"""The ``chunk_size`` the sandbox suggests in its create answer."""


def _check_positive_number(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be more than 0, got {value}"
        raise ValueError(msg)


def _check_not_negative(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must be 0 or more, got {value}"
        raise ValueError(msg)


def _check_optional_not_negative(
    _instance: Any, attribute: attrs.Attribute[Any], value: int | None
) -> None:
    if value is not None and value < 0:
        msg = f"{attribute.name} must be None or 0 or more, got {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class UploadConfig:
    """The behaviour of the sandbox's ``/v1/media/uploads`` endpoints.

    Attributes:
        max_size: the largest upload in bytes; a bigger create is answered
            ``413 media_too_large``.
        ttl: seconds an unfinished upload lives; after that its ``upload_url``
            answers 404 and its bytes are deleted.
        chunk_size: the ``chunk_size`` suggested in the create answer.
        foreign_origin: serve ``upload_url`` from the storage origin (a second
            loopback port), authorized by a signed token in its query string
            instead of the API key, as a real storage host would.
        storage_host: the address the storage origin listens on. It also
            serves the media URLs.
        storage_port: its port; 0 picks a free one.
        put_delay: seconds each ``PUT`` waits before it reads its body, to make
            concurrent uploads overlap on the server.
        drop_put_after: cut a ``PUT``'s connection once it delivered this many
            bytes (they are kept), as a flaky network would; ``None`` never cuts.
        drop_put_times: how many ``PUT`` requests of each upload are cut.
        corrupt_uploads: how many uploads (the first ones created) get their
            first byte damaged on arrival, so that ``complete`` finds a
            ``checksum_mismatch``.

    Example:
        ```python
        SandboxConfig(uploads=UploadConfig(foreign_origin=True, drop_put_after=1 << 20))
        ```
    """

    max_size: int = attrs.field(default=DEFAULT_MAX_UPLOAD_SIZE, validator=_check_positive_number)
    ttl: float = attrs.field(default=DEFAULT_UPLOAD_TTL, validator=_check_positive_number)
    chunk_size: int = attrs.field(default=DEFAULT_CHUNK_SIZE, validator=_check_positive_number)
    foreign_origin: bool = False
    storage_host: str = "127.0.0.1"
    storage_port: int = attrs.field(default=0, validator=_check_not_negative)
    put_delay: float = attrs.field(default=0.0, validator=_check_not_negative)
    drop_put_after: int | None = attrs.field(default=None, validator=_check_optional_not_negative)
    drop_put_times: int = attrs.field(default=1, validator=_check_not_negative)
    corrupt_uploads: int = attrs.field(default=0, validator=_check_not_negative)
