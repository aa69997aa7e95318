"""``Client``: the blocking facade over ``AsyncClient``, for scripts and notebooks.

The async client runs on an event loop in a background thread of the client's
own (an anyio blocking portal), so ``Client`` works in a plain script and in a
Jupyter cell, where an event loop already runs in the main thread and
``asyncio.run`` would refuse. The thread is a daemon, and an exit hook closes a
client that was not closed, so a script that forgets ``close()`` still exits
promptly and cleanly.
"""

from __future__ import annotations

import atexit
import functools
import threading
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.from_thread import BlockingPortal

from ._client import AsyncClient
from ._errors import ValidationError

if TYPE_CHECKING:
    import os
    import ssl

    from ._models import Content, WriteResult
    from ._stream import WriteOperation
    from ._transport import Timeout, Transport
    from .platforms import PlatformPreview

__all__ = ["Client"]


class _PortalThread:
    """An event loop in a daemon thread, driven through a blocking portal."""

    def __init__(self, backend: str) -> None:
        ready: Future[BlockingPortal] = Future()
        self._thread = threading.Thread(
            target=self._main, args=(backend, ready), name="socialwrite-client", daemon=True
        )
        self._thread.start()
        self.portal = ready.result()

    @staticmethod
    def _main(backend: str, ready: Future[BlockingPortal]) -> None:
        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()

        try:
            anyio.run(serve, backend=backend)
        except BaseException as exc:  # noqa: BLE001 - reported to the thread that waits
            if not ready.done():
                ready.set_exception(exc)

    def stop(self) -> None:
        self.portal.call(self.portal.stop)
        self._thread.join()


def _close_at_exit(ref: weakref.ReferenceType[Client]) -> None:
    client = ref()
    if client is not None:
        client.close()


class Client:
    """The blocking socialwrite client: the same settings as ``AsyncClient``.

    Args:
        api_key: the API key; default: the ``SOCIALWRITE_API_KEY`` environment variable.
        base_url: the service root without ``/v1``; default: ``SOCIALWRITE_BASE_URL``.
        timeout: seconds for connecting and between reads, or a ``Timeout``.
        max_retries: retries after the first try (each with the same idempotency key).
        upload_concurrency: how many local files upload at once.
        fan_out: the default of every ``write``'s ``fan_out`` (one write request
            per platform, all at once; see ``AsyncClient.write``).
        session: not accepted: an aiohttp session belongs to another event loop.
        transport: a transport to use instead of the default.
        verify: TLS verification, as ``AsyncClient``'s: ``True``, ``False``, a
            CA bundle path, or an ``ssl.SSLContext``.
        trust_env: honour the environment's proxies and ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR`` (read when the client is made).
        proxy: a proxy URL for every request; overrides the environment's.
        backend: the event loop the client runs on in its thread: ``"asyncio"``
            (aiohttp) or ``"trio"`` (httpx).

    Example:
        >>> with Client() as client:  # doctest: +SKIP
        ...     result = client.write(platforms=["x"], content={"text": "Hello"})
        ...     print(result.ok, result["x"].url)
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | None = 30.0,
        max_retries: int = 2,
        upload_concurrency: int = 4,
        fan_out: bool = False,
        session: object = None,
        transport: Transport | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        trust_env: bool = True,
        proxy: str | None = None,
        backend: str = "asyncio",
    ) -> None:
        if session is not None:
            msg = (
                "a blocking Client runs its own event loop, and an aiohttp session belongs "
                "to the loop it was made in: leave session out (or use AsyncClient)"
            )
            raise ValidationError(msg, param="session")
        if backend not in ("asyncio", "trio"):
            msg = f"must be 'asyncio' or 'trio', not {backend!r}"
            raise ValidationError(msg, param="backend")
        self._async = AsyncClient(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            upload_concurrency=upload_concurrency,
            fan_out=fan_out,
            transport=transport,
            verify=verify,
            trust_env=trust_env,
            proxy=proxy,
        )
        self._backend = backend
        self._loop: _PortalThread | None = None
        self._lock = threading.Lock()
        self._closed = False
        # One hook per client (a weak reference: the hook keeps no client alive).
        self._exit_hook = functools.partial(_close_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"Client(base_url={self._async.base_url!r}, api_key=<hidden>)"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The service root the client talks to."""
        return self._async.base_url

    @property
    def is_closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def _portal(self) -> BlockingPortal:
        with self._lock:
            if self._closed:
                msg = "this client is closed; create a new Client"
                raise RuntimeError(msg)
            if self._loop is None:
                self._loop = _PortalThread(self._backend)
                atexit.register(self._exit_hook)
            return self._loop.portal

    def write(
        self,
        *,
        platforms: list[str] | tuple[str, ...],
        content: Content | Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: float | Timeout | None = None,
        fan_out: bool | None = None,
    ) -> WriteResult:
        """Post ``content`` to ``platforms`` and wait for the aggregate result.

        Takes the same arguments as ``AsyncClient.write``. Input is checked
        before anything is sent.

        Raises:
            ValidationError: the input is wrong; nothing was sent.
            APIError: the write failed (see the error tree).
        """
        operation = self._async.write(
            platforms=platforms,
            content=content,
            options=options,
            idempotency_key=idempotency_key,
            max_retries=max_retries,
            timeout=timeout,
            fan_out=fan_out,
        )
        return self._portal().call(_await, operation)

    def preview(
        self, *, platforms: list[str] | tuple[str, ...], content: Content | Mapping[str, Any]
    ) -> dict[str, PlatformPreview]:
        """Show what each platform would receive, with no network call (``socialwrite.preview``)."""
        return self._async.preview(platforms=platforms, content=content)

    def close(self) -> None:
        """Close the connections and stop the client's event loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, self._loop = self._loop, None
        if loop is not None:
            try:
                loop.portal.call(self._async.aclose)
            finally:
                loop.stop()
            atexit.unregister(self._exit_hook)


async def _await(operation: WriteOperation) -> WriteResult:
    return await operation
