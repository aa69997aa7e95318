"""The sandbox's request-level error: one protocol error body, raised and answered.

The protocol's facts themselves (paths, headers, limits, event names, error
types) live once in ``socialwrite._protocol``, shared with the SDK; the
sandbox's modules import them from there. This module holds only the exception
that carries an error body from where a problem is found to the HTTP layer
(``_http``), which answers it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._protocol import error_body

__all__ = ["ESCAPE_SEQUENCES", "ProtocolError"]

ESCAPE_SEQUENCES = "\x1b]0;TITLE\x07\x1b[31m"
"""What ``Faults(escape_sequences=True)`` puts into answers: a title change, red, and a bell."""

ESCAPE_RESET = "\x1b[0m"
"""What ends a text that ``Faults(escape_sequences=True)`` made hostile: colours back to normal."""


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

    def with_escape_sequences(self) -> ProtocolError:
        """Return a copy whose ``message`` carries terminal escape sequences and a bell."""
        message = f"{ESCAPE_SEQUENCES}{self.message}{ESCAPE_RESET}"
        return ProtocolError(
            self.status, self.code, message, param=self.param, headers=self.headers
        )

    def body(self) -> dict[str, Any]:
        """Return this error as the protocol's JSON error body."""
        return error_body(self.status, self.code, self.message, self.param)

    def body_text(self) -> str:
        """Return :meth:`body` serialized as compact JSON."""
        return json.dumps(self.body(), ensure_ascii=False)

    def flat_body(self) -> dict[str, Any]:
        """Return this error the way many real services send one: ``{"error": code, "message"}``.

        protocol.md asks clients to understand this shape too; the sandbox
        answers with it in its vendor-compatible mode (``SandboxConfig.compat``).
        """
        return {"error": self.code, "message": self.message}
