"""What the sandbox published and how many writes it saw, readable from any thread.

The server records here from its event loop while tests and examples read
from their own thread (``Sandbox.run_in_thread``), so every access holds one
lock and readers get immutable snapshots. The SDK's reliability tests count
publishes per ``Idempotency-Key`` here to prove a retried write never
publishes twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["Ledger", "PublishedPost", "SandboxStats", "rfc3339"]


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with a ``Z`` (``2026-04-25T14:22:00Z``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class PublishedPost:
    """One post a platform "published" in the sandbox.

    Attributes:
        platform: the platform id.
        post_id: the id the write's result reported.
        url: the URL the write's result reported.
        text: the text the platform got, after its formatting and truncation
            (``None`` when the write had no text).
        media: the media URLs, in order.
        alt_text: one entry per media item (``None`` where there was none).
        options: this platform's entry of the write's ``options``.
        idempotency_key: the write's ``Idempotency-Key``, or ``None`` without one.
        published_at: when it was published (UTC, whole seconds).
    """

    platform: str
    post_id: str
    url: str
    text: str | None
    media: tuple[str, ...]
    alt_text: tuple[str | None, ...]
    options: Mapping[str, Any]
    idempotency_key: str | None
    published_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Return the post as the inspection endpoint shows it."""
        return {
            "platform": self.platform,
            "post_id": self.post_id,
            "url": self.url,
            "text": self.text,
            "media": list(self.media),
            "alt_text": list(self.alt_text),
            "options": dict(self.options),
            "idempotency_key": self.idempotency_key,
            "published_at": rfc3339(self.published_at),
        }


@attrs.frozen(kw_only=True)
class SandboxStats:
    """Counters since the sandbox started (or was last cleared).

    Attributes:
        writes_received: authenticated ``POST /v1/social/write`` requests, every
            attempt counted, invalid and replayed ones included.
        writes_executed: writes that ran (published or failed per platform).
        writes_replayed: requests answered from an earlier write with the same
            ``Idempotency-Key``.
        publishes: posts published (successful platforms), all writes together.
        publishes_by_key: posts published per ``Idempotency-Key`` (``None`` for
            writes sent without one).
        write_connections: distinct client connections the write requests came
            on: a client that reuses its connections keeps this low.
    """

    writes_received: int = 0
    writes_executed: int = 0
    writes_replayed: int = 0
    publishes: int = 0
    publishes_by_key: Mapping[str | None, int] = attrs.field(factory=lambda: MappingProxyType({}))
    write_connections: int = 0

    def publishes_for(self, idempotency_key: str | None) -> int:
        """Return how many posts the writes with ``idempotency_key`` published."""
        return self.publishes_by_key.get(idempotency_key, 0)

    def to_json(self) -> dict[str, Any]:
        """Return the counters as the inspection endpoint shows them."""
        return {
            "writes_received": self.writes_received,
            "writes_executed": self.writes_executed,
            "writes_replayed": self.writes_replayed,
            "publishes": self.publishes,
            "write_connections": self.write_connections,
        }


class Ledger:
    """The thread-safe record of posts and counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: list[PublishedPost] = []
        self._writes_received = 0
        self._writes_executed = 0
        self._writes_replayed = 0
        self._publishes_by_key: Counter[str | None] = Counter()
        self._connections: set[object] = set()

    def count_received(self, connection: object = None) -> None:
        """Count one write request that passed authentication, and the connection it came on."""
        with self._lock:
            self._writes_received += 1
            if connection is not None:
                self._connections.add(connection)

    def count_executed(self) -> None:
        """Count one write that runs (not a replay)."""
        with self._lock:
            self._writes_executed += 1

    def count_replayed(self) -> None:
        """Count one request answered from an earlier write."""
        with self._lock:
            self._writes_replayed += 1

    def record(self, post: PublishedPost) -> None:
        """Record one published post."""
        with self._lock:
            self._posts.append(post)
            self._publishes_by_key[post.idempotency_key] += 1

    def posts(self) -> list[PublishedPost]:
        """Return the published posts, oldest first (a copy)."""
        with self._lock:
            return list(self._posts)

    def stats(self) -> SandboxStats:
        """Return a snapshot of the counters."""
        with self._lock:
            return SandboxStats(
                writes_received=self._writes_received,
                writes_executed=self._writes_executed,
                writes_replayed=self._writes_replayed,
                publishes=len(self._posts),
                publishes_by_key=MappingProxyType(dict(self._publishes_by_key)),
                write_connections=len(self._connections),
            )

    def clear(self) -> int:
        """Forget every post and reset the counters; return how many posts were dropped."""
        with self._lock:
            dropped = len(self._posts)
            self._posts.clear()
            self._publishes_by_key.clear()
            self._connections.clear()
            self._writes_received = 0
            self._writes_executed = 0
            self._writes_replayed = 0
            return dropped
