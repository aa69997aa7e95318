"""Runs the upload pipeline the way a client's write does, for the upload tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from socialwrite import AsyncClient
from socialwrite._media import upload_all
from socialwrite._request import LocalFile
from socialwrite._retry import RetryPolicy
from socialwrite.events import Event


async def upload_with(
    client: AsyncClient,
    files: Sequence[LocalFile],
    emit: Callable[[Event], Awaitable[None]],
    policy: RetryPolicy,
) -> dict[str, str]:
    """Upload ``files`` with ``client``'s requester, timeout, media cache and concurrency."""
    return await upload_all(
        client._requester,
        files,
        emit,
        policy,
        timeout=client.timeout,
        media_cache=client.media_cache,
        concurrency=client.upload_concurrency,
    )
