"""``AsyncClient``: configuration, lifecycle, and ``write()``; the only orchestrator.

The client holds the settings and one transport shared by every task that uses
it. ``write()`` checks its input at once (no I/O besides looking at local
files) and returns a ``WriteOperation``, which is awaitable and an async
context manager; the operation does the uploads, the write call and the
decoding.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import ValidationError
from ._fanout import FanOutRun
from ._requester import Requester
from ._retry import RetryPolicy
from ._run import WriteRun, stream_timeout
from ._stream import Run, WriteOperation
from ._transport import NetworkOptions, Timeout, Transport, network_options
from ._validate import validate_fan_out_key, validate_platforms, validate_write
from .platforms import PlatformPreview, preview

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from ._models import Content

__all__ = ["API_KEY_ENV", "BASE_URL_ENV", "AsyncClient"]

API_KEY_ENV = "SOCIALWRITE_API_KEY"
BASE_URL_ENV = "SOCIALWRITE_BASE_URL"


def _check_base_url(base_url: str, api_key: str) -> str:
    """Check the service root; no message shows the API key, should the URL hold it."""
    try:
        return _checked_base_url(base_url)
    except ValidationError as exc:
        if api_key in exc.message:
            hidden = exc.message.replace(api_key, "[redacted]")
            raise ValidationError(hidden, param="base_url") from None
        raise


def _checked_base_url(base_url: str) -> str:
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        msg = f"{base_url!r} is not a valid URL: {exc}"
        raise ValidationError(msg, param="base_url") from None
    if parts.scheme not in ("http", "https") or not host:
        msg = (
            f"{base_url!r} is not an absolute http(s) URL; give the service root, "
            "e.g. 'https://api.example.com' or the sandbox's 'http://127.0.0.1:8787'"
        )
        raise ValidationError(msg, param="base_url")
    if parts.username is not None or parts.password is not None:
        msg = "must not carry credentials (user:password@); pass api_key instead"
        raise ValidationError(msg, param="base_url")
    if parts.query or parts.fragment:
        msg = "must not have a query string or fragment: give the service root"
        raise ValidationError(msg, param="base_url")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        fixed = base_url.rstrip("/")[: -len("/v1")]
        msg = f"is the service root without /v1 (the SDK adds /v1/...): use {fixed!r}"
        raise ValidationError(msg, param="base_url")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_positive_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"must be a whole number of at least {minimum}, not {value!r}"
        raise ValidationError(msg, param=name)
    return value


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        msg = f"must be True or False, not {value!r}"
        raise ValidationError(msg, param=name)
    return value


def check_timeout(value: object, name: str = "timeout") -> Timeout:
    """Check a ``timeout`` argument: seconds (> 0), a ``Timeout``, or ``None`` for none."""
    if isinstance(value, Timeout):
        for field in ("connect", "read", "total", "idle", "deadline", "progress"):
            seconds = getattr(value, field)
            if seconds is not None and not (
                isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0
            ):
                msg = f"Timeout.{field} must be a positive number of seconds or None"
                raise ValidationError(msg, param=name)
        return value
    if value is None:
        return Timeout.coerce(None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"must be a positive number of seconds, a Timeout, or None, not {value!r}"
        raise ValidationError(msg, param=name)
    return Timeout.coerce(float(value))


def _network(
    verify: object, trust_env: object, proxy: object, *, shared: object
) -> NetworkOptions | None:
    """The client's TLS context and proxies; ``None`` with a shared session or transport."""
    if shared is None:
        return network_options(verify=verify, trust_env=trust_env, proxy=proxy)
    what = "session" if shared == "session" else "transport"
    for name, value, default in (
        ("verify", verify, True),
        ("trust_env", trust_env, True),
        ("proxy", proxy, None),
    ):
        if value is not default:
            msg = (
                f"a shared {what} keeps its own TLS and proxy settings: "
                f"set them on the {what}, and leave {name} out"
            )
            raise ValidationError(msg, param=name)
    return None


class AsyncClient:
    """The asynchronous socialwrite client, for asyncio and trio programs.

    Args:
        api_key: the API key; default: the ``SOCIALWRITE_API_KEY`` environment variable.
        base_url: the service root (``scheme://host[:port][/prefix]``, without
            ``/v1``); default: the ``SOCIALWRITE_BASE_URL`` environment variable.
        timeout: seconds for connecting and between reads, or a ``Timeout``.
        max_retries: retries after the first try (each with the same idempotency key).
            The whole policy is ``client.retry_policy`` (a ``RetryPolicy``): replace
            it to change the backoff, e.g. ``attrs.evolve(client.retry_policy,
            backoff_base=0.1)``.
        upload_concurrency: how many local files upload at once.
        fan_out: the default of every ``write``'s ``fan_out``: send one write
            request per platform, all at once, so each platform's result
            arrives as its own request returns (for a server that answers JSON only).
        session: an ``aiohttp.ClientSession`` to share; used, never closed by the client.
        transport: a transport to use instead of the default (aiohttp on
            asyncio, httpx2 on trio); shared, never closed by the client.
        verify: TLS verification: ``True`` (the system's CAs, or
            ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when ``trust_env``), ``False``
            (no verification: for tests only), the path of a CA bundle (or of a
            directory of certificates), or an ``ssl.SSLContext``.
        trust_env: honour ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``,
            ``NO_PROXY`` (any case) and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``,
            read when the client is made.
        proxy: a proxy URL for every request (``http://host:port``); it
            overrides the environment's. ``verify``, ``trust_env`` and
            ``proxy`` are for the client's own connections: with a ``session``
            or a ``transport``, which keep their own settings, leave them out.

    Raises:
        ValidationError: a setting is missing or malformed (naming the argument
            and its environment variable).

    Example:
        >>> async with AsyncClient(base_url="http://127.0.0.1:8787") as client:  # doctest: +SKIP
        ...     result = await client.write(platforms=["x"], content={"text": "Hello"})
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
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        trust_env: bool = True,
        proxy: str | None = None,
    ) -> None:
        key: object = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        if key is None:
            msg = f"no API key: pass api_key=... or set the {API_KEY_ENV} environment variable"
            raise ValidationError(msg, param="api_key")
        if not isinstance(key, str) or not key.strip():
            msg = "must be a non-empty string"
            raise ValidationError(msg, param="api_key")
        if any(ch in key for ch in "\r\n\0"):
            msg = "contains a line break or NUL; check how it was loaded"
            raise ValidationError(msg, param="api_key")
        url: object = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or None
        if url is None:
            msg = (
                f"no base URL: pass base_url=... or set the {BASE_URL_ENV} environment "
                "variable (for the local sandbox: run 'socialwrite sandbox')"
            )
            raise ValidationError(msg, param="base_url")
        if not isinstance(url, str):
            msg = f"must be a string URL, not {type(url).__name__}"
            raise ValidationError(msg, param="base_url")
        if session is not None and transport is not None:
            msg = "give a session or a transport, not both"
            raise ValidationError(msg, param="session")
        self.base_url: str = _check_base_url(url, key)
        self.timeout: Timeout = check_timeout(timeout)
        self.retry_policy: RetryPolicy = RetryPolicy(
            max_retries=_check_positive_int(max_retries, "max_retries", 0)
        )
        self.upload_concurrency: int = _check_positive_int(
            upload_concurrency, "upload_concurrency", 1
        )
        self.fan_out: bool = _check_bool(fan_out, "fan_out")
        network = _network(
            verify, trust_env, proxy, shared="session" if session is not None else transport
        )
        self._requester = Requester(
            key, self.base_url, session=session, transport=transport, network=network
        )
        # The timeout a streamed write is sent with, for the last timeout seen:
        # a client's writes almost always share one.
        self._stream_timeouts: tuple[Timeout | None, Timeout] = (None, self.timeout)
        # Media URLs of files this client uploaded, by sha256 and size: a later
        # write of the same bytes uploads nothing.
        self.media_cache: dict[tuple[str, int], str] = {}

    def __repr__(self) -> str:
        # Never the key, nor any part of it.
        return f"AsyncClient(base_url={self.base_url!r}, api_key=<hidden>)"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections the client opened. A shared session or transport stays open."""
        await self._requester.aclose()

    @property
    def max_retries(self) -> int:
        """Retries after the first try, for every call that does not say otherwise."""
        return self.retry_policy.max_retries

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` was called."""
        return self._requester.is_closed

    # -- public calls -----------------------------------------------------------------

    def preview(
        self, *, platforms: list[str] | tuple[str, ...], content: Content | Mapping[str, Any]
    ) -> dict[str, PlatformPreview]:
        """Show what each platform would receive, with no network call.

        The same as ``socialwrite.preview``: per platform, the text after
        formatting and truncation, its count and limit, and warnings.

        Raises:
            ValidationError: ``platforms`` or ``content`` is malformed.
        """
        return preview(validate_platforms(platforms), content)

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
    ) -> WriteOperation:
        """Post ``content`` to ``platforms``: await it for the aggregate, or stream it.

        Args:
            platforms: platform ids, e.g. ``["x", "instagram"]`` (1 to 20, unique).
            content: a ``Content``, or a dict with ``text``, ``media``, ``alt_text``.
            options: per-platform options keyed by platform, e.g.
                ``{"instagram": {"format": "reels"}}``.
            idempotency_key: the write's key; default: a fresh one, reused on every retry.
            max_retries: overrides the client's ``max_retries`` for this write.
            timeout: overrides the client's ``timeout`` for this write.
            fan_out: send one write request per platform, all at once, each with
                the key ``f"{key}:{platform}"``, and stream each platform's result
                as its own request returns: real per-platform streaming against a
                server that answers JSON only. An error that only some requests
                got becomes those platforms' failed results; one that every
                request got is raised. Default: the client's ``fan_out``.

        Returns:
            A ``WriteOperation``: ``await`` it for the ``WriteResult``, or use
            ``async with`` for a stream of results as each platform resolves.

        Raises:
            ValidationError: the input is wrong; raised here, before anything is
                sent (with ``fan_out``, also a key too long to take ``:<platform>``).

        Example:
            Awaited, for the aggregate::

                result = await client.write(platforms=["x"], content={"text": "Hi"})

            Streamed, for each platform's result as it resolves::

                async with client.write(platforms=["x"], content={"text": "Hi"}) as stream:
                    async for r in stream:
                        print(r.platform, r.url or r.error)
        """
        request = validate_write(
            platforms=platforms, content=content, options=options, idempotency_key=idempotency_key
        )
        per_platform = self.fan_out if fan_out is None else _check_bool(fan_out, "fan_out")
        if per_platform:
            validate_fan_out_key(request.idempotency_key, request.platforms)
        policy = (
            self.retry_policy
            if max_retries is None
            else self.retry_policy.with_max_retries(
                _check_positive_int(max_retries, "max_retries", 0)
            )
        )
        call_timeout = self.timeout if timeout is None else check_timeout(timeout)
        made_for, request_timeout = self._stream_timeouts
        if call_timeout is not made_for:
            request_timeout = stream_timeout(call_timeout)
            self._stream_timeouts = (call_timeout, request_timeout)
        run: Run = (FanOutRun if per_platform else WriteRun)(
            self._requester,
            request,
            policy=policy,
            timeout=call_timeout,
            request_timeout=request_timeout,
            media_cache=self.media_cache,
            upload_concurrency=self.upload_concurrency,
        )
        return WriteOperation(run)
