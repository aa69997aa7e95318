"""The sandbox's one HTTP layer, shared by its two aiohttp applications.

Both the API application (``_app``) and the storage origin (``_uploads``) are
built by :func:`protocol_app`, so that every answer of either, errors and
unknown paths included, carries a fresh ``X-Request-Id``, and every failure is
the protocol's JSON error body with the ``type`` its status calls for:

* a :class:`~socialwrite.sandbox._protocol.ProtocolError` raised by a handler
  (or by anything it calls) is answered as it says;
* aiohttp's own HTTP errors (no such path, method not allowed, body too
  large) get the protocol's codes;
* anything else is logged and answered ``500 internal_error``.

What differs between the two applications (the API key on the API, the count
of ``Authorization`` headers on the storage origin) comes as middlewares of
their own, which :func:`protocol_app` places inside the error layer, so what
they raise is answered the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from .._protocol import HEADER_REQUEST_ID
from ._protocol import ProtocolError

__all__ = [
    "Handler",
    "error_response",
    "protocol_app",
    "require_api_key",
]

_logger = logging.getLogger("socialwrite.sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp request handler, as a middleware receives it."""

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="socialwrite sandbox"'}


def protocol_app(*middlewares: Middleware) -> web.Application:
    """Return an aiohttp application that answers the protocol's way.

    Its answers carry an ``X-Request-Id`` and its failures are the protocol's
    error bodies (see the module's docstring).

    Args:
        middlewares: the application's own middlewares, run inside the error
            layer, outermost first.
    """
    app = web.Application(middlewares=[_protocol_errors, *middlewares])
    app.on_response_prepare.append(_add_request_id)
    return app


def error_response(error: ProtocolError) -> web.Response:
    """Return ``error`` as an HTTP answer: its status, its headers, its JSON body."""
    return web.Response(
        status=error.status,
        text=error.body_text(),
        content_type="application/json",
        headers=error.headers,
    )


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ProtocolError:
    """Return the protocol's error for one of aiohttp's HTTP errors (404, 405, 413, ...)."""
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    if exc.status == 404:
        message = f"nothing at {request.path}; the API's paths start with /v1/"
        return ProtocolError(404, "not_found", message)
    if exc.status == 405:
        message = f"{request.method} is not allowed on {request.path}"
        return ProtocolError(405, "method_not_allowed", message, headers=headers)
    if exc.status == 413:
        message = "the request body is too large; a write's body is a small JSON object"
        return ProtocolError(413, "request_too_large", message)
    code = exc.reason.lower().replace(" ", "_") or "http_error"
    return ProtocolError(exc.status, code, exc.reason or f"HTTP {exc.status}", headers=headers)


def require_api_key(api_key: str) -> Middleware:
    """Return a middleware that lets a request reach its route only with the API key.

    The key comes as ``Authorization: Bearer <api_key>``; without it, or with
    another, the answer is ``401`` with a ``WWW-Authenticate`` challenge.
    A request no route matches is left to the error layer (404, 405) unchecked.
    """
    expected = _digest(api_key)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is None:
            _check_bearer(request.headers.get("Authorization"), expected)
        return await handler(request)

    return authenticate


def _new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


async def _add_request_id(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault(HEADER_REQUEST_ID, _new_request_id())


@web.middleware
async def _protocol_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure below it into the protocol's error body."""
    try:
        return await handler(request)
    except ProtocolError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(_from_http_exception(exc, request))
    except Exception:
        _logger.exception("unexpected error answering %s %s", request.method, request.path)
        message = "the sandbox failed to answer; see its log"
        return error_response(ProtocolError(500, "internal_error", message))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _check_bearer(header: str | None, expected: bytes) -> None:
    if not header:
        message = "no API key: send it as the header 'Authorization: Bearer <api key>'"
        raise ProtocolError(401, "missing_api_key", message, headers=_CHALLENGE)
    scheme, _, token = header.strip().partition(" ")
    # Digests of equal length make the comparison's time independent of the
    # key's length as well as of its content.
    if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(token.strip()), expected):
        message = "the API key is not valid for this sandbox (see how it was started)"
        raise ProtocolError(401, "invalid_api_key", message, headers=_CHALLENGE)
