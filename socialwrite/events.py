"""Events of a streamed write, in the order they can arrive.

Every upload event comes before any platform event, and ``WriteCompleted`` is
last. Iterate over them with ``stream.events()``:

```python
async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
    async for event in stream.events():
        if isinstance(event, socialwrite.events.PlatformResult):
            print(event.platform, event.url or event.error)
```
"""

from __future__ import annotations

import os
from typing import TypeAlias

import attrs

from ._models import PlatformResult, WriteResult

__all__ = [
    "Event",
    "PlatformResult",
    "PlatformStatus",
    "UploadCompleted",
    "UploadProgress",
    "UploadStarted",
    "WriteCompleted",
]


@attrs.frozen(kw_only=True)
class UploadStarted:
    """A local file began uploading.

    Attributes:
        source: the local path, as given.
        size: its size in bytes.
    """

    source: str | os.PathLike[str]
    size: int


@attrs.frozen(kw_only=True)
class UploadProgress:
    """Bytes of a local file were handed to the transport.

    Attributes:
        source: the local path, as given.
        sent: bytes handed to the transport so far (after a resume, counted
            from the server's offset).
        total: the file's size in bytes.
    """

    source: str | os.PathLike[str]
    sent: int
    total: int


@attrs.frozen(kw_only=True)
class UploadCompleted:
    """A local file is uploaded and has its media URL.

    Attributes:
        source: the local path, as given.
        url: the media URL the write will use.
        reused: True when no bytes were sent (the client's cache, or the
            server already held the same content).
    """

    source: str | os.PathLike[str]
    url: str
    reused: bool = False


@attrs.frozen(kw_only=True)
class PlatformStatus:
    """A platform's progress before its result (``queued``, ``processing``, ``publishing``).

    Attributes:
        platform: the platform id.
        index: its position in the write's ``platforms``.
        state: ``queued``, ``processing`` or ``publishing`` (or a newer state).
        progress: 0..1, or ``None`` when the server does not know.
    """

    platform: str
    index: int
    state: str
    progress: float | None = None


@attrs.frozen(kw_only=True)
class WriteCompleted:
    """The write finished; ``result`` is the aggregate. Always the last event."""

    result: WriteResult


Event: TypeAlias = (
    UploadStarted
    | UploadProgress
    | UploadCompleted
    | PlatformStatus
    | PlatformResult
    | WriteCompleted
)
"""Any event ``stream.events()`` yields."""
