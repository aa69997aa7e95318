"""socialwrite: post to many social platforms at once, from async Python.

```python
import socialwrite

async with socialwrite.AsyncClient() as client:
    result = await client.write(platforms=["x", "bluesky"], content={"text": "Hello"})
    for r in result.results:
        print(r.platform, r.url or r.error)
```
"""

from __future__ import annotations

from typing import Any

from . import events
from ._blocking import Client
from ._client import AsyncClient
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    MediaUploadError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    SocialWriteError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from ._models import CommentResult, Content, Media, PlatformResult, WriteResult
from ._retry import RetryPolicy
from ._stream import WriteOperation, WriteStream
from ._transport import Timeout
from .platforms import PlatformPreview, preview
from .platforms._options import (
    InstagramOptions,
    LinkedInOptions,
    PinterestOptions,
    RedditOptions,
    XOptions,
    YouTubeOptions,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "CommentResult",
    "ConflictError",
    "Content",
    "InstagramOptions",
    "InsufficientCreditsError",
    "InternalServerError",
    "LinkedInOptions",
    "Media",
    "MediaUploadError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PinterestOptions",
    "PlatformPreview",
    "PlatformResult",
    "RateLimitError",
    "RedditOptions",
    "RetryPolicy",
    "SocialWriteError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WriteOperation",
    "WriteResult",
    "WriteStream",
    "XOptions",
    "YouTubeOptions",
    "events",
    "preview",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415 - only when asked

        return version("socialwrite")
    msg = f"module 'socialwrite' has no attribute {name!r}"
    raise AttributeError(msg)
