"""Run the sandbox in-process: on the current asyncio loop, or on a thread of its own.

aiohttp serves only on asyncio. Asyncio code runs the sandbox on its own loop
(``async with Sandbox()``); trio code and plain blocking code run it on a
background thread with a private asyncio loop (``with Sandbox().run_in_thread()``)
and talk to it over loopback like any other client. Either way stopping is
complete: the writes still running are cancelled and awaited, the listening
socket and every connection closed, and the thread joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import TracebackType

from aiohttp import web

from ._app import faults_of, make_app, state_of
from ._config import SandboxConfig
from ._faults_config import Faults
from ._ledger import PublishedPost, SandboxStats
from ._state import SandboxState

__all__ = ["Sandbox"]

_SHUTDOWN_TIMEOUT = 5.0


class Sandbox:
    """A local server that speaks the socialwrite protocol; no account needed.

    Each ``Sandbox`` runs once: start it, use it, stop it.

    Example:
        ```python
        async with Sandbox(SandboxConfig(latency={"instagram": 0.5})) as sandbox:
            ...  # point a client at sandbox.base_url with sandbox.api_key

        with Sandbox().run_in_thread() as sandbox:  # from trio or blocking code
            print(sandbox.base_url, sandbox.published())
        ```
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Prepare a sandbox; nothing listens until it is started.

        Args:
            config: its behaviour; the defaults when ``None``.
            host: the address to listen on (loopback by default).
            port: the port; 0 picks a free one.
        """
        self._app = make_app(config)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._used = False

    @property
    def config(self) -> SandboxConfig:
        """The sandbox's behaviour."""
        return self.state.config

    @property
    def state(self) -> SandboxState:
        """The server's state (published posts, counters, idempotency keys)."""
        return state_of(self._app)

    @property
    def api_key(self) -> str:
        """The API key the sandbox accepts."""
        return self.config.api_key

    @property
    def base_url(self) -> str:
        """The service root, without ``/v1`` (``http://127.0.0.1:PORT``).

        Raises:
            RuntimeError: the sandbox is not running.
        """
        if self._base_url is None:
            msg = "the sandbox is not running; start it with 'async with' or run_in_thread()"
            raise RuntimeError(msg)
        return self._base_url

    @property
    def stats(self) -> SandboxStats:
        """Writes received, executed and replayed, and publishes (per key too). Thread-safe."""
        return self.state.stats

    def published(self) -> list[PublishedPost]:
        """Return every post published so far, oldest first. Thread-safe."""
        return self.state.published()

    @property
    def credits_left(self) -> Decimal | None:
        """The account's credits not yet spent (``None``: unlimited, the default). Thread-safe.

        A write that is running holds back what it may still cost until it ends.
        """
        return self.state.credits.left

    def clear(self) -> None:
        """Forget the published posts and reset the counters, faults injected included.

        Idempotency keys are kept, so a replayed write still publishes nothing.
        The faults in force stay as they are. Thread-safe.
        """
        self.state.clear()
        faults_of(self._app).reset_counts()

    @property
    def faults(self) -> Faults:
        """The faults in force now (``config.faults`` until :meth:`set_faults`). Thread-safe."""
        return faults_of(self._app).faults

    def set_faults(self, faults: Faults) -> None:
        """Put ``faults`` in force from the next request on, while the sandbox runs. Thread-safe.

        Counted faults start again from ``faults``' counts, the random mix from
        its seed; the counts of faults already injected are kept. Give
        ``Faults()`` to stop injecting.

        Example:
            ```python
            with Sandbox().run_in_thread() as sandbox:
                sandbox.set_faults(Faults(fail_writes=2, fail_status=429, retry_after=1))
                ...  # the next two writes are rate limited
            ```
        """
        faults_of(self._app).set_faults(faults)

    @property
    def faults_injected(self) -> Mapping[str, int]:
        """How many faults of each kind were injected, by kind name. Thread-safe.

        Every kind is there, zeros included: ``sandbox.faults_injected["server_error"]``
        (or ``[FaultKind.SERVER_ERROR]``, which equals its name).
        """
        return faults_of(self._app).injected()

    async def start(self) -> None:
        """Start listening on the current asyncio loop.

        Raises:
            RuntimeError: not on an asyncio loop (use :meth:`run_in_thread`), or
                this sandbox was already started once.
            OSError: the address could not be bound.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            msg = (
                "Sandbox needs a running asyncio event loop; from trio or blocking code "
                "use 'with Sandbox(...).run_in_thread() as sandbox'"
            )
            raise RuntimeError(msg) from None
        if self._used:
            msg = "this Sandbox was already started once; create a new one"
            raise RuntimeError(msg)
        self._used = True
        runner = web.AppRunner(
            self._app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self._base_url = f"http://{shown}:{port}"

    async def aclose(self) -> None:
        """Stop: cancel the writes still running, close every connection and the socket."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[Sandbox]:
        """Serve from a background thread with its own asyncio loop, for trio or blocking code.

        Blocks until the server listens; on leaving, stops it and joins the thread.
        ``published()``, ``stats`` and ``clear()`` are safe to call meanwhile.

        Raises:
            OSError: the address could not be bound (raised here, in the caller's thread).
        """
        thread = _ServerThread(self)
        thread.start()
        try:
            yield self
        finally:
            thread.stop()


class _ServerThread:
    """A thread that runs one sandbox on a private asyncio loop until told to stop."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="socialwrite-sandbox", daemon=True)

    def start(self) -> None:
        """Start the thread and wait until the server listens (or failed to)."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            error, self._error = self._error, None
            raise error

    def stop(self) -> None:
        """Ask the server to stop, wait for the thread, re-raise what went wrong there."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await self._sandbox.start()
        try:
            # Published only once listening: stop() must find a loop that still runs.
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            await self._stop.wait()
        finally:
            await self._sandbox.aclose()
