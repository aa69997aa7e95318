"""The requester: the one way the SDK talks HTTP.

It owns what every request has in common, so that nothing above it does:

* the transport, made on first use for the running event loop (aiohttp under
  asyncio, httpx2 under trio) and closed with the client;
* headers and authentication: the key is a ``Secret`` (its ``repr`` hides
  it), handed to the transport as ``Request.auth`` for the API's own origin
  only, never for another (a storage host's ``upload_url``); the transport
  adds the ``Authorization`` header inside its own send, so no header mapping
  above it, and no frame's locals, ever holds the key;
* redaction: bytes and text that came from the server pass through
  ``redact`` / ``redact_text`` before they reach an error or a log line, so an
  echoed API key goes no further;
* error answers: ``read_error`` reads the start of the body (never failing
  for its size, so a huge error page still gives its status's class) and
  decodes it (in the converter) into the typed ``APIStatusError``; a 3xx is
  an error too, naming where it pointed, since no redirect is followed;
* deadlines: the total time of an attempt (``within_total``), and the
  ``Deadline`` of a whole operation, which the retry loop will not wait past;
* the ONE retry loop (``retrying``): the write and every upload call use it.
  Its hook ``before_retry`` lets a caller move its state forward between
  attempts (the stream's ``Last-Event-ID`` is kept by the attempt itself; an
  upload asks the server where to resume) and say whether the last attempt
  made progress, which starts the count of retries again.

The operation and the media pipeline receive a requester, never the client.
"""

from __future__ import annotations

import logging
import platform as _platform
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, TypeVar

import anyio
import sniffio

from ._converter import error_from_body, redirect_error
from ._errors import APIConnectionError, APIStatusError, APITimeoutError, format_seconds
from ._logging import logger, redact_url
from ._protocol import HEADER_REQUEST_ID, HEADER_RETRY_AFTER
from ._retry import RetryDecision, RetryPolicy, parse_retry_after
from ._secret import Secret
from ._transport import (
    NetworkOptions,
    Response,
    Transport,
    default_transport,
    origin_of,
    read_prefix,
    session_transport,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["MAX_ERROR_BODY", "MIN_REDACTED_KEY", "Deadline", "Requester", "sdk_version"]

T = TypeVar("T")

MAX_ERROR_BODY = 1024 * 1024
"""The most bytes of an error answer read; the rest of a larger one is left unread."""

_REDACTED = "[redacted]"

MIN_REDACTED_KEY = 12
"""The shortest key looked for (and removed) in what the server sends back.

A shorter one (the sandbox's ``sandbox``) is no secret, and would match
ordinary words: a URL on ``sandbox.bsky.social`` must stay as it is.
"""

_sdk_version: str | None = None


def sdk_version() -> str:
    """The installed version of socialwrite (read from package metadata once)."""
    global _sdk_version  # noqa: PLW0603 - computed once, on first use
    if _sdk_version is None:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - once

        try:
            _sdk_version = version("socialwrite")
        except PackageNotFoundError:
            _sdk_version = "0+unknown"
    return _sdk_version


class Deadline:
    """The moment (``time.monotonic()``) by which an operation, retries included, must end.

    Args:
        seconds: how long from now.
        message: what the error says when it passes: which limit, and how to
            change it; ``{seconds}`` in it stands for ``seconds``.
    """

    __slots__ = ("at", "message", "seconds")

    def __init__(self, seconds: float, message: str) -> None:
        self.seconds = seconds
        self.message = message
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    def error(self, method: str, url: str, last: BaseException | None = None) -> APITimeoutError:
        """The ``APITimeoutError`` of this deadline, naming the last attempt's failure if any."""
        message = self.message.format(seconds=format_seconds(self.seconds))
        if last is not None:
            message += f"; the last attempt failed: {type(last).__name__}: {last}"
        return APITimeoutError(message, method=method, url=url)


class Requester:
    """Sends the SDK's requests: transport, headers, redaction, errors, retries.

    Args:
        api_key: the API key; it leaves this object only inside the
            ``Authorization`` header of a request to the API's origin.
        base_url: the checked service root (no trailing slash).
        session: an ``aiohttp.ClientSession`` to use (asyncio only); never closed here.
        transport: a transport to use; never closed here.
        network: the TLS context and proxies of the transport made here.
    """

    __slots__ = (
        "_api_key",
        "_api_origin",
        "_backend",
        "_base_prefix",
        "_closed",
        "_headers",
        "_network",
        "_owns_transport",
        "_session",
        "_thread_local_name",
        "_transport",
        "base_url",
    )

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        network: NetworkOptions | None = None,
    ) -> None:
        self._api_key = Secret(api_key)
        self._network = network
        self.base_url = base_url
        self._api_origin = origin_of(base_url)
        self._base_prefix = base_url + "/"
        self._session = session
        self._transport = transport
        self._owns_transport = transport is None
        self._backend: str | None = None
        # What sniffio's thread-local says under that backend (asyncio: nothing).
        self._thread_local_name: str | None = ""
        self._closed = False
        # The headers every request carries, built once the transport is known
        # (never the key: see ``auth``).
        self._headers: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Requester(base_url={self.base_url!r}, api_key=<hidden>)"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` was called."""
        return self._closed

    @property
    def has_transport(self) -> bool:
        """True once a transport exists (made on first use, or given)."""
        return self._transport is not None

    async def aclose(self) -> None:
        """Close the transport this requester made; a given one stays open."""
        self._closed = True
        transport, self._transport = self._transport, None
        if transport is not None and self._owns_transport:
            await transport.aclose()

    def transport(self) -> Transport:
        """Return the transport, creating the default one for the running loop once."""
        transport = self._transport
        # The common case, cheaply: still in the kind of loop it was first used
        # in. trio names itself in sniffio's thread-local; asyncio leaves it
        # unset (this is only ever called from inside a running loop).
        if transport is not None and sniffio.thread_local.name == self._thread_local_name:
            return transport
        backend = sniffio.current_async_library()
        if self._backend is None:
            self._backend = backend
            self._thread_local_name = None if backend == "asyncio" else backend
        elif backend != self._backend:
            msg = (
                f"this client was first used under {self._backend} and cannot be used "
                f"under {backend}; make one client per event loop"
            )
            raise RuntimeError(msg)
        if self._closed:
            msg = "this client is closed; create a new AsyncClient"
            raise RuntimeError(msg)
        if self._transport is None:
            if self._session is not None:
                if backend != "asyncio":
                    msg = "an aiohttp session only works on asyncio; under trio, do not pass one"
                    raise RuntimeError(msg)
                self._transport = session_transport(self._session)
            else:
                self._transport = default_transport(backend, self._network)
        return self._transport

    # -- what every request carries ----------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of a protocol path (``/v1/...``) under the base URL."""
        return f"{self.base_url}{path}"

    def headers(self, url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers for a request to ``url``, never the key (see ``auth``)."""
        fixed = self._headers
        if not fixed:
            user_agent = (
                f"socialwrite-python/{sdk_version()} Python/{_platform.python_version()} "
                f"{self.transport().user_agent}"
            )
            fixed = self._headers = {"User-Agent": user_agent}
        return {**fixed, **extra} if extra else dict(fixed)

    def auth(self, url: str) -> Secret | None:
        """The key for a request to ``url`` (``Request.auth``): only for the API's origin."""
        # A URL under the base URL (with its slash) is on the API's origin by
        # construction; anything else is compared origin to origin.
        if url.startswith(self._base_prefix) or origin_of(url) == self._api_origin:
            return self._api_key
        return None

    def redact(self, data: bytes) -> bytes:
        """Remove the API key from bytes the server sent back (an echo must not leak it)."""
        key = self._api_key.encoded()
        if len(key) < MIN_REDACTED_KEY:
            return data
        # find, not in: ``in`` first tries the key as an integer (see _sse.py).
        return data.replace(key, _REDACTED.encode()) if data.find(key) >= 0 else data

    def redact_text(self, text: str) -> str:
        """Remove the API key from text (a message built from what the server sent)."""
        key = self._api_key.reveal()
        if len(key) < MIN_REDACTED_KEY:
            return text
        return text.replace(key, _REDACTED) if key in text else text

    # -- answers -------------------------------------------------------------------------------

    async def read_error(self, response: Response, *, method: str, url: str) -> APIStatusError:
        """Turn an answer that is not a success into its typed error.

        A 3xx is not read: its error names the status and its ``Location``.
        Otherwise at most ``MAX_ERROR_BODY`` bytes of the body are read (a
        larger body is cut, never refused, so its status still decides the
        error's class and whether it is retried), without the API key.
        """
        headers = response.headers
        request_id = headers.get(HEADER_REQUEST_ID.lower())
        if request_id is not None:
            request_id = self.redact_text(request_id)
        status = response.status_code
        if 300 <= status < 400:
            location = headers.get("location")
            return redirect_error(
                status,
                None if location is None else self.redact_text(location),
                request_id=request_id,
                method=method,
                url=url,
            )
        raw, cut = await read_prefix(response, MAX_ERROR_BODY)
        if cut:
            raw = self._without_partial_key(raw)
        return error_from_body(
            status,
            self.redact(raw),
            request_id=request_id,
            retry_after=parse_retry_after(headers.get(HEADER_RETRY_AFTER.lower())),
            method=method,
            url=url,
            redact=self.redact_text,
        )

    def _without_partial_key(self, data: bytes) -> bytes:
        """Drop the end of a cut body when it is the start of the API key."""
        key = self._api_key.encoded()
        for size in range(min(len(key) - 1, len(data)), 0, -1):
            if data.endswith(key[:size]):
                return data[:-size]
        return data

    # -- time and retries ----------------------------------------------------------------------

    @staticmethod
    def within_total(total: float | None, method: str, url: str) -> AbstractContextManager[None]:
        """Bound an attempt by the timeout's ``total``; past it, ``APITimeoutError``."""
        # Most writes have no total: a shared do-nothing context then, made once.
        return _NO_LIMIT if total is None else _total_limit(total, method, url)

    async def retrying(
        self,
        attempt: Callable[[int], Awaitable[T]],
        *,
        policy: RetryPolicy,
        method: str,
        url: str,
        key: str | None = None,
        before_retry: Callable[[], Awaitable[bool]] | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """Run ``attempt(n)`` until it returns, retrying what the policy says is worth it.

        Only ``APIConnectionError`` (timeouts included) and ``APIStatusError``
        are judged; any other exception ends the loop as itself. Between two
        attempts it sleeps the policy's delay (``Retry-After`` honoured), then
        awaits ``before_retry()``, whose ``True`` means the failed attempt made
        progress (an upload got further): the count of retries starts again.

        Args:
            attempt: one try; gets the number of retries made so far.
            policy: when to retry and how long to wait.
            method: for the log lines.
            url: for the log lines (query values are hidden there).
            key: the idempotency key, for the log lines.
            before_retry: moves the caller's state forward before the next try.
            deadline: when the operation must end: a failure that would be
                retried after it (or a timeout once it passed) raises the
                deadline's ``APITimeoutError`` instead.

        Raises:
            APIConnectionError: the last attempt's, when the policy gave up.
            APIStatusError: the last attempt's, when the policy gave up.
            APITimeoutError: the deadline's, when it passed or would before the next try.
        """
        retries = 0
        while True:
            started = time.monotonic()
            try:
                return await attempt(retries)
            except (APIConnectionError, APIStatusError) as exc:
                status = exc.status_code if isinstance(exc, APIStatusError) else None
                decision = policy.decide(
                    attempt=retries,
                    status=status,
                    error=None if status is not None else exc,
                    retry_after=exc.retry_after if isinstance(exc, APIStatusError) else None,
                )
                if deadline is not None and _past(deadline, decision, exc):
                    _log_failure(
                        method,
                        url,
                        exc,
                        started=started,
                        key=key,
                        reason=f"its deadline of {deadline.seconds:g} s passed",
                    )
                    raise deadline.error(method, url, exc) from exc
                if not decision.retry:
                    _log_failure(method, url, exc, started=started, key=key, reason=decision.reason)
                    raise
                if logger.isEnabledFor(logging.INFO):
                    logger.info(
                        "%s %s failed (%s)%s: %s",
                        method,
                        redact_url(url),
                        _outcome(exc),
                        "" if key is None else f", key {key}",
                        decision.reason,
                    )
            await anyio.sleep(decision.delay)
            retries += 1
            if before_retry is not None and await before_retry():
                retries = 0


_NO_LIMIT: AbstractContextManager[None] = nullcontext()


@contextmanager
def _total_limit(total: float, method: str, url: str) -> Iterator[None]:
    try:
        with anyio.fail_after(total):
            yield
    except TimeoutError as exc:
        msg = f"{method} {url} took longer than its total timeout of {total:g} s"
        raise APITimeoutError(msg, method=method, url=url) from exc


def _past(deadline: Deadline, decision: RetryDecision, error: Exception) -> bool:
    """Whether the deadline ends the retries: the next try would start after it.

    A timeout once the deadline passed is the deadline's too, even when no
    retry is left (the deadline cut the attempt's own limits short).
    """
    if not (decision.retry or isinstance(error, APITimeoutError)):
        return False
    return deadline.remaining() <= decision.delay


def _outcome(error: Exception) -> str:
    """A failure, in a log line: its status, or its class."""
    return str(error.status_code) if isinstance(error, APIStatusError) else type(error).__name__


def _log_failure(
    method: str, url: str, error: Exception, *, started: float, key: str | None, reason: str
) -> None:
    """Log a request that failed for good."""
    logger.warning(
        "%s %s failed (%s) after %.1f ms%s: %s",
        method,
        redact_url(url),
        _outcome(error),
        (time.monotonic() - started) * 1000,
        "" if key is None else f", key {key}",
        reason,
    )
