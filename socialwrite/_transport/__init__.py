"""Transports: the only layer that touches the network (see ``_base``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import (
    Body,
    Request,
    Response,
    Timeout,
    Transport,
    new_request,
    origin_of,
    read_prefix,
)
from ._network import NetworkOptions, network_options

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "Body",
    "NetworkOptions",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "default_transport",
    "network_options",
    "new_request",
    "origin_of",
    "read_prefix",
]


def default_transport(backend: str, network: NetworkOptions | None = None) -> Transport:
    """Return the default transport for the running async library (``sniffio`` name).

    aiohttp under asyncio, httpx2 under trio. Each library is imported here,
    on first use, so that ``import socialwrite`` imports neither. ``network``
    is the client's TLS context and proxies (``None``: the library's defaults,
    without the environment).

    Raises:
        RuntimeError: under trio without the ``trio`` extra installed, or under
            an async library socialwrite does not support.
    """
    if backend == "asyncio":
        from ._aiohttp import AiohttpTransport  # noqa: PLC0415 - imported when first used

        return AiohttpTransport(network=network)
    if backend == "trio":
        try:
            from ._httpx2 import Httpx2Transport  # noqa: PLC0415 - optional dependency
        except ImportError as exc:
            msg = (
                "socialwrite needs httpx2 to run under trio (aiohttp runs only on asyncio): "
                'pip install "socialwrite[trio]", on Python 3.11 or later (httpx2 needs it)'
            )
            raise RuntimeError(msg) from exc
        return Httpx2Transport(network=network)
    msg = f"socialwrite runs on asyncio or trio, not on {backend!r}"
    raise RuntimeError(msg)


def session_transport(session: aiohttp.ClientSession) -> Transport:
    """Return a transport over the caller's aiohttp session (asyncio only; never closed here).

    The session keeps its own TLS and proxy settings.
    """
    from ._aiohttp import AiohttpTransport  # noqa: PLC0415 - imported when first used

    return AiohttpTransport(session)
