"""The wire protocol's fixed facts, as the sandbox serves them.

protocol.md fixes a handful of numbers and names (the error type that goes with
each status, what a success costs, the request's size limits, how long an
idempotency key lives). They are kept here, once, so that validation, the
handlers and the tests all read the same value and a change to the protocol is
a change to one file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "CREDIT_PER_SUCCESS",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IDEMPOTENCY_TTL_SECONDS",
    "MAX_MEDIA",
    "MAX_PLATFORMS",
    "ProtocolError",
    "error_body",
    "error_type_for",
    "render_decimal",
]

MAX_PLATFORMS = 20
"""The most platforms one write may name."""

MAX_MEDIA = 10
"""The most media URLs one write may carry."""

IDEMPOTENCY_KEY_MAX_LENGTH = 255
"""The longest ``Idempotency-Key`` (printable ASCII characters)."""

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60.0
"""How long the server remembers an ``Idempotency-Key`` and its answer."""

CREDIT_PER_SUCCESS = Decimal("0.0075")
"""What the sandbox charges for each platform that succeeded (failures are free)."""

_ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type_for(status: int) -> str:
    """Return the protocol's ``error.type`` for an HTTP error status.

    Args:
        status: a 4xx or 5xx status.

    Returns:
        ``api_error`` for any 5xx, the table's type for a listed 4xx, and
        ``invalid_request_error`` for any other 4xx.
    """
    if status >= 500:
        return "api_error"
    return _ERROR_TYPES.get(status, "invalid_request_error")


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


class ProtocolError(Exception):
    """A request-level problem, answered as a 4xx/5xx error body; nothing is published.

    Attributes:
        status: the HTTP status to answer with.
        code: the error body's ``code``.
        message: the error body's ``message``.
        param: the error body's ``param`` (``platforms[1]``, ``content.media``, ...).
        headers: extra response headers (``WWW-Authenticate`` on a 401, for instance).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers: Mapping[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """Return this error as the protocol's JSON error body."""
        return error_body(self.status, self.code, self.message, self.param)

    def body_text(self) -> str:
        """Return :meth:`body` serialized as compact JSON."""
        return json.dumps(self.body(), ensure_ascii=False)


def render_decimal(value: Decimal) -> str:
    """Write a decimal as an exact JSON number (``0.015``, never ``0.015000000000000001``).

    Trailing zeros are dropped and exponents avoided, so ``Decimal("0.0150")`` is
    ``0.015`` and zero is ``0``.
    """
    text = format(value.normalize(), "f")
    if text in {"-0", "0"}:
        return "0"
    return text
