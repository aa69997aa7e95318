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

An application made with ``flat_errors`` (the vendor-compatible mode) answers
the same errors in the flat shape many real services send,
``{"error": "<code>", "message": "..."}``; :func:`proxy_page` is the HTML page
a proxy in front of a service sends instead of any JSON.

What differs between the two applications (the API key on the API, the count
of ``Authorization`` headers on the storage origin) comes as middlewares of
their own, which :func:`protocol_app` places inside the error layer, so what
they raise is answered the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import http
import json
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
    "proxy_page",
    "require_api_key",
]

_logger = logging.getLogger("socialwrite.sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp request handler, as a middleware receives it."""

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="socialwrite sandbox"'}


def protocol_app(
    *middlewares: Middleware, flat_errors: bool = False, escape_sequences: bool = False
) -> web.Application:
    """Return an aiohttp application that answers the protocol's way.

    Its answers carry an ``X-Request-Id`` and its failures are the protocol's
    error bodies (see the module's docstring).

    Args:
        middlewares: the application's own middlewares, run inside the error
            layer, outermost first.
        flat_errors: answer errors as ``{"error": "<code>", "message": "..."}``,
            the flat shape of many real services, instead of the protocol's.
        escape_sequences: put terminal escape sequences into every error
            body's ``message`` (``Faults.escape_sequences``).
    """
    errors = _error_layer(flat=flat_errors, escape_sequences=escape_sequences)
    app = web.Application(middlewares=[errors, *middlewares])
    app.on_response_prepare.append(_add_request_id)
    return app


def error_response(
    error: ProtocolError, *, flat: bool = False, escape_sequences: bool = False
) -> web.Response:
    """Return ``error`` as an HTTP answer: its status, its headers, its JSON body.

    Args:
        error: the error to answer.
        flat: send the flat body (:meth:`ProtocolError.flat_body`) instead of
            the protocol's.
        escape_sequences: put terminal escape sequences into its ``message``
            (:meth:`ProtocolError.with_escape_sequences`).
    """
    if escape_sequences:
        error = error.with_escape_sequences()
    text = json.dumps(error.flat_body(), ensure_ascii=False) if flat else error.body_text()
    return web.Response(
        status=error.status,
        text=text,
        content_type="application/json",
        headers=error.headers,
    )


def proxy_page(status: int) -> web.Response:
    """Return the HTML error page a proxy (nginx and the like) sends for ``status``."""
    title = html.escape(f"{status} {http.HTTPStatus(status).phrase}")
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ProtocolError:
    """Return the protocol's error for one of aiohttp's HTTP errors (404, 405, 413, ...)."""
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    if exc.status == 404:
        message = f"nothing at {request.path}"
        if not request.path.startswith("/v1/"):
            message += "; the API's paths start with /v1/"
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


def _error_layer(*, flat: bool, escape_sequences: bool) -> Middleware:
    """Return the middleware that turns every failure below it into an error body."""

    @web.middleware
    async def protocol_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ProtocolError as exc:
            return error_response(exc, flat=flat, escape_sequences=escape_sequences)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            error = _from_http_exception(exc, request)
            return error_response(error, flat=flat, escape_sequences=escape_sequences)
        except Exception:
            _logger.exception("unexpected error answering %s %s", request.method, request.path)
            message = "the sandbox failed to answer; see its log"
            error = ProtocolError(500, "internal_error", message)
            return error_response(error, flat=flat, escape_sequences=escape_sequences)

    return protocol_errors


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
