"""The sandbox's media upload routes, on the API and on the storage origin.

Thin handlers over :class:`~socialwrite.sandbox._upload_store.UploadStore`,
which keeps the uploads themselves:

* On the API application (:func:`setup_uploads`), behind its API key: create,
  complete, and, unless ``UploadConfig.foreign_origin``, ``PUT`` and
  ``HEAD`` on the upload URL.
* On the *storage origin*, a second application on a loopback port of its own
  that starts and stops with the API's: the media URLs (public, like a CDN's,
  so no API key guards them) and, with ``foreign_origin``, the upload URLs,
  authorized by the signed token in their query string. Every
  ``Authorization`` header that reaches it is counted, so tests can prove a
  client never leaks its key to another origin.

Both applications answer through the one HTTP layer (``_http``): request ids
and the protocol's error bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import hdrs, web

from .._protocol import HEADER_UPLOAD_LENGTH, HEADER_UPLOAD_OFFSET, UPLOADS_PATH, complete_path
from ._http import Handler, protocol_app
from ._upload_store import (
    Append,
    UploadStore,
    content_path,
    media_path,
    storage_upload_path,
)
from ._uploads_config import UploadConfig
from ._validation import check_content_type, decode_json

__all__ = ["setup_uploads", "uploads_of"]

_logger = logging.getLogger("socialwrite.sandbox")

_UPLOADS = web.AppKey("socialwrite_sandbox_uploads", UploadStore)


def uploads_of(app: web.Application) -> UploadStore:
    """Return the upload store of an application set up by :func:`setup_uploads`."""
    return app[_UPLOADS]


def setup_uploads(app: web.Application, config: UploadConfig | None = None) -> UploadStore:
    """Mount the media upload endpoints on the sandbox's API application.

    The API routes rely on the application's middlewares for the API key and
    for the protocol's error bodies; the storage origin (media URLs, and
    ``upload_url`` with ``foreign_origin``) starts and stops with the app.

    Args:
        app: the sandbox's application (``make_app``).
        config: the uploads' behaviour; the defaults when ``None``.

    Returns:
        The store, also reachable as ``uploads_of(app)``.
    """
    store = UploadStore(config if config is not None else UploadConfig())
    app[_UPLOADS] = store
    app.router.add_post(UPLOADS_PATH, _create)
    app.router.add_post(complete_path("{id}"), _complete)
    app.router.add_put(content_path("{id}"), _api_put)
    app.router.add_route(hdrs.METH_HEAD, content_path("{id}"), _api_head)
    app.cleanup_ctx.append(_storage_origin(store))
    return store


# -- the API's routes -----------------------------------------------------------------------


async def _create(request: web.Request) -> web.Response:
    check_content_type(request.headers.get(hdrs.CONTENT_TYPE))
    body = decode_json(await request.read())
    status, answer = uploads_of(request.app).create(body, str(request.url.origin()))
    return web.json_response(answer, status=status)


async def _complete(request: web.Request) -> web.Response:
    store = uploads_of(request.app)
    return web.json_response(await store.complete(request.match_info["id"]))


async def _api_put(request: web.Request) -> web.Response:
    return await _put(request, request.match_info["id"], storage=False)


async def _api_head(request: web.Request) -> web.Response:
    return await _head(request, request.match_info["id"])


# -- the storage origin ---------------------------------------------------------------------


def _storage_origin(store: UploadStore) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return the API app's cleanup context that runs the storage origin beside it."""

    async def serve(_app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(_storage_app(store), access_log=None, handle_signals=False)
        try:
            await runner.setup()
            site = web.TCPSite(runner, store.config.storage_host, store.config.storage_port)
            await site.start()
            host, port = runner.addresses[0][:2]
            shown = f"[{host}]" if ":" in host else host
            store.start(f"http://{shown}:{port}")
            yield
        finally:
            await runner.cleanup()
            store.stop()

    return serve


def _storage_app(store: UploadStore) -> web.Application:
    @web.middleware
    async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        # This origin never needs the API key: a client that sends it here leaks it.
        store.count_storage_request(request.headers.get(hdrs.AUTHORIZATION))
        return await handler(request)

    app = protocol_app(count_requests)
    app[_UPLOADS] = store
    app.router.add_get(media_path("{name}"), _get_media)
    if store.config.foreign_origin:
        app.router.add_put(storage_upload_path("{id}"), _storage_put)
        app.router.add_route(hdrs.METH_HEAD, storage_upload_path("{id}"), _storage_head)
    return app


def _signed_id(request: web.Request) -> str:
    upload_id = request.match_info["id"]
    uploads_of(request.app).check_signature(
        upload_id, request.query.get("expires"), request.query.get("signature")
    )
    return upload_id


async def _storage_put(request: web.Request) -> web.Response:
    return await _put(request, _signed_id(request), storage=True)


async def _storage_head(request: web.Request) -> web.Response:
    return await _head(request, _signed_id(request))


async def _get_media(request: web.Request) -> web.StreamResponse:
    media = uploads_of(request.app).media(request.match_info["name"])
    return web.FileResponse(
        media.path,
        headers={
            hdrs.CONTENT_TYPE: media.content_type,
            hdrs.CACHE_CONTROL: "public, max-age=31536000, immutable",
        },
    )


# -- PUT and HEAD, on either origin ---------------------------------------------------------


async def _put(request: web.Request, upload_id: str, *, storage: bool) -> web.Response:
    """Append a ``PUT``'s body at the upload's offset, chunk by chunk, as it arrives."""
    async with uploads_of(request.app).put(
        upload_id,
        request.headers.get(hdrs.CONTENT_RANGE),
        request.content_length,
        storage=storage,
    ) as append:
        return await _receive(request, append)


async def _receive(request: web.Request, append: Append) -> web.Response:
    try:
        async for data in request.content.iter_any():
            if not append.feed(data):
                break
    except (ConnectionError, asyncio.IncompleteReadError, web.HTTPException) as exc:
        # The client went away mid-body: what arrived is kept for the resume.
        _logger.debug("upload %s: body cut at %d: %r", append.upload.id, append.upload.offset, exc)
        return web.Response(status=499)
    if append.cut:
        # An injected fault: the connection goes as a flaky network's would.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)
    return web.json_response(append.answer())


async def _head(request: web.Request, upload_id: str) -> web.Response:
    """Say where the upload stands: ``Upload-Offset`` and ``Upload-Length``."""
    upload = await uploads_of(request.app).settled(upload_id)
    return web.Response(
        status=200,
        headers={
            HEADER_UPLOAD_OFFSET: str(upload.offset),
            HEADER_UPLOAD_LENGTH: str(upload.size),
            hdrs.CACHE_CONTROL: "no-store",
        },
    )
