"""The wire protocol's fixed facts (protocol.md), once, for the SDK and the sandbox.

Paths, limits, header names, event names, the platform-id pattern, and the
tables that tie an HTTP status to its error ``type`` and its retry rule. The
SDK's checks and decoding and the sandbox's validation and answers read them
from here, so the two can never drift apart; ``tests/test_protocol.py`` holds
these constants against the tables of ``docs/protocol.md``.

Pure data and small pure functions: this module imports nothing of the package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ACCEPT_STREAM",
    "CREDIT_PER_SUCCESS",
    "ERROR_TYPES",
    "EVENT_DONE",
    "EVENT_ERROR",
    "EVENT_NAMES",
    "EVENT_RESULT",
    "EVENT_STATUS",
    "FINAL_EVENTS",
    "HEADER_IDEMPOTENCY_KEY",
    "HEADER_IDEMPOTENT_REPLAYED",
    "HEADER_LAST_EVENT_ID",
    "HEADER_REQUEST_ID",
    "HEADER_RETRY_AFTER",
    "HEADER_UPLOAD_LENGTH",
    "HEADER_UPLOAD_OFFSET",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IDEMPOTENCY_TTL_SECONDS",
    "MAX_MEDIA",
    "MAX_PLATFORMS",
    "PLATFORM_ID",
    "PLATFORM_ID_PATTERN",
    "RESULT_ERROR_CODES",
    "RETRYABLE_STATUSES",
    "STATUS_STATES",
    "TYPE_STATUS",
    "UPLOADS_PATH",
    "UPLOAD_STATUSES",
    "WRITE_PATH",
    "complete_path",
    "error_body",
    "error_type_for",
    "is_printable_ascii",
    "render_decimal",
]

# -- paths (under the service root, which the client's base_url names) ---------------

WRITE_PATH: Final = "/v1/social/write"
"""The write: ``POST`` a body of platforms, content and options."""

UPLOADS_PATH: Final = "/v1/media/uploads"
"""Create an upload (``POST``); ``{UPLOADS_PATH}/{id}/complete`` finishes one."""


def complete_path(upload_id: str) -> str:
    """Return the path that completes the upload ``upload_id``."""
    return f"{UPLOADS_PATH}/{upload_id}/complete"


# -- headers --------------------------------------------------------------------------

HEADER_IDEMPOTENCY_KEY: Final = "Idempotency-Key"
HEADER_LAST_EVENT_ID: Final = "Last-Event-ID"
HEADER_REQUEST_ID: Final = "X-Request-Id"
HEADER_RETRY_AFTER: Final = "Retry-After"
HEADER_IDEMPOTENT_REPLAYED: Final = "Idempotent-Replayed"
HEADER_UPLOAD_OFFSET: Final = "Upload-Offset"
HEADER_UPLOAD_LENGTH: Final = "Upload-Length"

ACCEPT_STREAM: Final = "text/event-stream"
"""The media type of the streaming answer."""

# -- limits of one write --------------------------------------------------------------

MAX_PLATFORMS: Final = 20
"""The most platforms one write may name."""

MAX_MEDIA: Final = 10
"""The most media items one write may carry."""

IDEMPOTENCY_KEY_MAX_LENGTH: Final = 255
"""The longest ``Idempotency-Key`` (printable ASCII characters)."""

IDEMPOTENCY_TTL_SECONDS: Final = 24 * 60 * 60.0
"""How long the server remembers an ``Idempotency-Key`` and its answer."""

PLATFORM_ID_PATTERN: Final = r"[a-z][a-z0-9_]{0,63}"
"""A platform id: a lowercase identifier (``x``, ``instagram``, ``google_business``)."""

PLATFORM_ID: Final = re.compile(PLATFORM_ID_PATTERN)
"""``PLATFORM_ID_PATTERN`` compiled; use ``fullmatch``."""


def is_printable_ascii(value: str) -> bool:
    """True when every character of ``value`` is printable ASCII (space to ``~``)."""
    return all(" " <= ch <= "~" for ch in value)


# -- the streaming answer -------------------------------------------------------------

EVENT_STATUS: Final = "status"
EVENT_RESULT: Final = "result"
EVENT_DONE: Final = "done"
EVENT_ERROR: Final = "error"
EVENT_NAMES: Final = frozenset({EVENT_STATUS, EVENT_RESULT, EVENT_DONE, EVENT_ERROR})
"""Every event name of the streaming answer; any other is ignored by clients."""

FINAL_EVENTS: Final = frozenset({EVENT_DONE, EVENT_ERROR})
"""The events after which the server closes the stream."""

STATUS_STATES: Final = ("queued", "processing", "publishing")
"""The ``state`` of a ``status`` event."""

RESULT_ERROR_CODES: Final = (
    "platform_not_connected",
    "media_required",
    "media_unsupported",
    "duplicate_content",
    "rate_limited",
    "platform_error",
)
"""The stable ``error_code`` values of a failed platform result."""

# -- uploads --------------------------------------------------------------------------

UPLOAD_STATUSES: Final = ("pending", "received", "complete")
"""The ``status`` of an upload, from created to usable."""

# -- errors ---------------------------------------------------------------------------

ERROR_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        409: "conflict_error",
        413: "invalid_request_error",
        415: "invalid_request_error",
        422: "invalid_request_error",
        429: "rate_limit_error",
        500: "api_error",
        502: "api_error",
        503: "api_error",
        504: "api_error",
    }
)
"""The error body's ``type`` for each status of protocol.md's table."""

TYPE_STATUS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "invalid_request_error": 400,
        "authentication_error": 401,
        "billing_error": 402,
        "permission_error": 403,
        "not_found_error": 404,
        "conflict_error": 409,
        "rate_limit_error": 429,
        "api_error": 500,
    }
)
"""The status an error ``type`` stands for (an ``error`` event has no status of its own)."""

RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
"""The statuses a client retries, with the same idempotency key."""


def error_type_for(status: int) -> str:
    """Return the protocol's ``error.type`` for an HTTP error status.

    ``api_error`` for any 5xx, the table's type for a listed 4xx, and
    ``invalid_request_error`` for any other 4xx.
    """
    if status >= 500:
        return "api_error"
    return ERROR_TYPES.get(status, "invalid_request_error")


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """Build the protocol's error body: ``{"error": {"type", "code", "message", "param"}}``.

    Args:
        status: the HTTP status the body goes with (it decides ``type``).
        code: the stable machine-readable code.
        message: what is wrong and how to fix it.
        param: the offending field in the protocol's notation, or ``None``.
    """
    return {
        "error": {
            "type": error_type_for(status),
            "code": code,
            "message": message,
            "param": param,
        }
    }


# -- credits --------------------------------------------------------------------------

CREDIT_PER_SUCCESS: Final = Decimal("0.0075")
"""What the sandbox charges for each platform that succeeded (failures are free)."""


def render_decimal(value: Decimal) -> str:
    """Write a decimal as an exact JSON number (``0.015``, never ``0.015000000000000001``).

    Trailing zeros are dropped and exponents avoided, so ``Decimal("0.0150")`` is
    ``0.015`` and zero is ``0``.
    """
    text = format(value.normalize(), "f")
    if text in {"-0", "0"}:
        return "0"
    return text
