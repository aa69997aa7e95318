"""The socialwrite error tree, and the one table that maps HTTP statuses to it.

```
SocialWriteError
├── ValidationError            (also a ValueError; raised before any request)
├── MediaUploadError           (names the file; carries the cause)
└── APIError
    ├── APIConnectionError
    │   └── APITimeoutError
    ├── APIResponseValidationError   (the server's answer did not parse)
    └── APIStatusError               (status_code, code, message, request_id)
        ├── BadRequestError 400
        │   ├── PayloadTooLargeError 413
        │   └── UnsupportedMediaTypeError 415
        ├── AuthenticationError 401
        ├── InsufficientCreditsError 402   (code "insufficient_credits"; never retried)
        ├── PermissionDeniedError 403
        ├── NotFoundError 404
        ├── ConflictError 409
        ├── UnprocessableEntityError 422
        ├── RateLimitError 429   (retry_after: float seconds or None)
        └── InternalServerError 5xx
```

No message or ``repr`` here ever holds the API key: errors are built from the
server's error body and from URLs that carry no credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "MediaUploadError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "SocialWriteError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "format_seconds",
    "status_error_class",
]


class SocialWriteError(Exception):
    """Base class of every error socialwrite raises on purpose."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationError(SocialWriteError, ValueError):
    """Input the SDK refuses before sending anything.

    Attributes:
        param: the offending field, in the protocol's notation
            (``platforms[1]``, ``content.media[0]``, ``options.instagram``).
        message: what is wrong and how to fix it.
    """

    param: str | None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    def __str__(self) -> str:
        if self.param is None:
            return self.message
        return f"{self.param}: {self.message}"

    def __repr__(self) -> str:
        return f"ValidationError({self.message!r}, param={self.param!r})"


class MediaUploadError(SocialWriteError):
    """A local media file could not be uploaded; nothing was published.

    Attributes:
        source: the local path that failed.
        cause: the underlying error (also set as ``__cause__``).
        idempotency_key: the key the write would have been sent with. Nothing
            was published, so sending the write again (with this key or a new
            one) is safe.
    """

    source: str
    cause: BaseException | None
    idempotency_key: str | None

    def __init__(
        self, message: str, *, source: str | os.PathLike[str], cause: BaseException | None = None
    ) -> None:
        super().__init__(message)
        self.source = os.fspath(source)
        self.cause = cause
        self.idempotency_key = None


class APIError(SocialWriteError):
    """Anything that went wrong talking to the API.

    Attributes:
        method: the HTTP method of the request that failed, when known.
        url: the URL of that request (never with credentials in it), when known.
        idempotency_key: for a failed write, the key it was sent with. The
            write may have published (a connection can drop after the
            publish): send it again with this key to get its answer without
            publishing twice.
    """

    method: str | None
    url: str | None
    idempotency_key: str | None

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.idempotency_key = None


class APIConnectionError(APIError):
    """The request could not be sent, or the connection broke before an answer.

    Attributes:
        retryable: ``False`` when trying again cannot help, so it was not
            retried: a certificate that fails verification, or another TLS
            handshake failure (the message says why, and names the host).
    """

    retryable: bool = True


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, reading, or in total)."""


class APIResponseValidationError(APIError):
    """The server answered, but its answer is not what the protocol says.

    A write's answer that cannot be decoded may still tell what was published:
    ``body`` keeps it, so nothing the server said is lost.

    Attributes:
        status_code: the HTTP status of that answer.
        request_id: the ``X-Request-Id`` of that answer, if any.
        body: what the server sent, when it was read: its decoded JSON (dicts,
            lists, strings, ``Decimal`` numbers), or its text when it is not
            JSON; ``None`` when it was not read (too large, or cut off). Never
            holds the API key.
    """

    status_code: int | None
    request_id: str | None
    body: Any

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.request_id = request_id
        self.body = body


class APIStatusError(APIError):
    """The API answered with an error status (4xx or 5xx).

    Attributes:
        status_code: the HTTP status.
        type: the error body's ``type`` (``invalid_request_error``, ...).
        code: the error body's machine-readable ``code``, if any.
        message: the error body's human-readable ``message``.
        param: the request field the error is about, if any.
        request_id: the answer's ``X-Request-Id`` header, for support requests.
        body: the whole decoded error body (a mapping), or ``None``.
        retry_after: seconds the server asked to wait before a retry (its
            ``Retry-After`` header), or ``None``.
    """

    status_code: int
    type: str | None
    code: str | None
    param: str | None
    request_id: str | None
    body: Mapping[str, Any] | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,  # noqa: A002 - the protocol's own field name
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.retry_after = retry_after
        self.status_code = status_code
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        parts = [f"{self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        if self.param:
            text += f" (param: {self.param})"
        wait = self._wait_text()
        if wait:
            text += f" ({wait})"
        if self.request_id:
            text += f" (request id: {self.request_id})"
        return text

    def _wait_text(self) -> str:
        """What ``str()`` says about waiting before trying again (nothing here)."""
        return ""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, param={self.param!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed; nothing was published."""


class PayloadTooLargeError(BadRequestError):
    """413: a media file is over the service's size limit."""


class UnsupportedMediaTypeError(BadRequestError):
    """415: a media file's type is not an image or video the service accepts."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the API key may not do this."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist (or has expired)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state (e.g. an upload offset)."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but refused (e.g. ``idempotency_key_reused``, ``checksum_mismatch``)."""


class InsufficientCreditsError(APIStatusError):
    """402: the account is out of credits (code ``insufficient_credits``); never retried."""


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: seconds the server asked to wait (from ``Retry-After``), or ``None``.
            When it is more than the client will wait, the client raises this
            error instead of sleeping. ``str()`` says it: ``retry after 120 s``.
    """

    def _wait_text(self) -> str:
        if self.retry_after is None:
            return ""
        return f"retry after {format_seconds(self.retry_after)} s"


class InternalServerError(APIStatusError):
    """5xx: the service failed; retrying with the same idempotency key is safe."""


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def format_seconds(seconds: float) -> str:
    """A number of seconds as a person reads it: ``120``, ``1.5``, ``0.25``.

    Example:
        >>> format_seconds(120.0), format_seconds(1.5), format_seconds(12.7)
        ('120', '1.5', '13')
    """
    if seconds.is_integer() or seconds >= 10:
        return f"{seconds:.0f}"
    return f"{seconds:.2f}".rstrip("0").rstrip(".")


def status_error_class(status_code: int) -> type[APIStatusError]:
    """Return the error class for an HTTP error status (the one mapping table)."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)
