"""Transports: how an ``AsyncClient`` sends its HTTP requests, and test doubles.

An ``AsyncClient`` picks its transport when it first runs: aiohttp under
asyncio, httpx2 under trio. Give it one to choose yourself, for example
httpx2 on asyncio, or a transport over an HTTP client you configured (proxies,
certificates, limits):

```python
import httpx2
import socialwrite
from socialwrite.transports import Httpx2Transport

async with httpx2.AsyncClient(proxy="http://proxy.internal:3128") as http:
    async with socialwrite.AsyncClient(transport=Httpx2Transport(client=http)) as client:
        await client.write(platforms=["x"], content={"text": "Hello"})
```

A transport given to a client is shared: the client never closes it, and a
transport never closes an ``aiohttp.ClientSession`` or ``httpx2.AsyncClient``
given to it. Close what you made, after the clients that use it.

The names:

- ``AiohttpTransport``: aiohttp, asyncio only (needs nothing beyond
  ``pip install socialwrite``).
- ``Httpx2Transport``: httpx2 (the maintained fork of httpx, with the same
  API), asyncio and trio; Python 3.11 or later (``pip install "socialwrite[trio]"``).
- ``MockTransport`` and ``MockResponse``: answer requests with a function, no
  sockets; for tests of code that uses the client.
- ``Transport``, ``Request``, ``Response``, ``ByteChunks``, ``Timeout``: the
  interface, to write a transport of your own. A request's ``headers`` never
  hold the API key: it comes as ``request.auth`` (a ``Secret`` whose ``repr``
  hides it), and a transport sends ``with_auth(request)`` as the headers,
  inside the call that sends them, so that no variable of its own holds the key.

Importing this module imports neither aiohttp nor httpx2: each is imported when
the transport that needs it is first looked up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._transport._base import ByteChunks, Request, Response, Timeout, Transport, with_auth
from ._transport._mock import MockResponse, MockTransport

if TYPE_CHECKING:
    from ._transport._aiohttp import AiohttpTransport
    from ._transport._httpx2 import Httpx2Transport

__all__ = [
    "AiohttpTransport",
    "ByteChunks",
    "Httpx2Transport",
    "MockResponse",
    "MockTransport",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "with_auth",
]

# Transports whose library is imported only when the name is first looked up,
# and how to install that library.
_LAZY = {
    "AiohttpTransport": ("._transport._aiohttp", "pip install socialwrite"),
    "Httpx2Transport": ("._transport._httpx2", 'pip install "socialwrite[trio]"'),
}


def __getattr__(name: str) -> Any:
    """Import a transport, and with it its HTTP library, on first use.

    Raises:
        AttributeError: ``name`` is not one of this module's names.
        ImportError: the transport's library is not installed; the message
            says which extra to install.
    """
    lazy = _LAZY.get(name)
    if lazy is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    module_name, install = lazy
    try:
        module = importlib.import_module(module_name, __package__)
    except ImportError as exc:
        msg = f"{name} needs {exc.name or 'a library'}, which is not installed: {install}"
        raise ImportError(msg, name=exc.name) from exc
    value = getattr(module, name)
    # Found once: later lookups are plain module attributes.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
