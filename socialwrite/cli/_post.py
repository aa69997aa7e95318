"""``socialwrite post``: one write, with live progress on a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click
from click.core import ParameterSource
from rich.console import Console
from rich.logging import RichHandler

from .._client import API_KEY_ENV, BASE_URL_ENV, AsyncClient
from .._errors import APIError, InsufficientCreditsError, MediaUploadError, ValidationError
from .._models import WriteResult
from .._stream import WriteOperation
from ..events import Event
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    build_content,
    content_options,
    fail,
)
from ._progress import LiveReport, PlainReport, Report

__all__ = ["post", "sandbox_latency"]

# What each platform takes to "publish" on the sandbox of --sandbox: long
# enough to see the progress, short enough not to wait for it. Later
# platforms take longer, so results arrive one by one.
_FIRST_LATENCY = 0.3
_LATENCY_STEP = 0.3


def sandbox_latency(platforms: Sequence[str]) -> dict[str, float]:
    """Return the latency of each platform on the sandbox that ``--sandbox`` starts."""
    return {
        platform: _FIRST_LATENCY + _LATENCY_STEP * index for index, platform in enumerate(platforms)
    }


def _parse_options(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Turn each ``--option PLATFORM.NAME=VALUE`` into the write's ``options`` mapping."""
    options: dict[str, dict[str, str]] = {}
    for value in values:
        key, separator, option_value = value.partition("=")
        platform, dot, name = key.partition(".")
        if not (separator and dot and platform and name):
            msg = f"{value!r} is not PLATFORM.NAME=VALUE, e.g. instagram.format=stories"
            raise click.BadParameter(msg, ctx, param)
        options.setdefault(platform, {})[name] = option_value
    return options


@contextmanager
def _service(
    ctx: click.Context, *, use_sandbox: bool, platforms: Sequence[str]
) -> Iterator[tuple[str | None, str | None]]:
    """Yield the API key and base URL: the options', or those of a sandbox started here."""
    if not use_sandbox:
        yield ctx.params["api_key"], ctx.params["base_url"]
        return
    for name in ("api_key", "base_url"):
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            flag = "--" + name.replace("_", "-")
            msg = f"--sandbox runs its own server: leave out {flag}"
            raise click.UsageError(msg, ctx)
    from ..sandbox import Sandbox, SandboxConfig  # noqa: PLC0415 - only with --sandbox

    with Sandbox(SandboxConfig(latency=sandbox_latency(platforms))).run_in_thread() as sandbox:
        yield sandbox.api_key, sandbox.base_url


_NAMES = {"api_key": "API key", "base_url": "base URL"}
_FLAGS = {"proxy": "--proxy", "verify": "--ca-bundle (or SSL_CERT_FILE / SSL_CERT_DIR)"}


def _verify(ca_bundle: str | None, *, insecure: bool) -> bool | str:
    """``verify=`` of the client: the CA bundle, ``False`` for --insecure, else ``True``."""
    if ca_bundle is not None and insecure:
        fail("give --ca-bundle or --insecure, not both", EXIT_USAGE)
    if insecure:
        click.echo(
            "socialwrite: warning: --insecure: TLS certificates are not checked; "
            "anyone on the network path can read and change what is sent, the API key included",
            err=True,
        )
        return False
    return True if ca_bundle is None else ca_bundle


def _client(
    api_key: str | None,
    base_url: str | None,
    *,
    proxy: str | None = None,
    verify: bool | str = True,
) -> AsyncClient:
    try:
        return AsyncClient(api_key, base_url=base_url, proxy=proxy, verify=verify)
    except ValidationError as exc:
        hints = {
            "api_key": f"give --api-key or set {API_KEY_ENV} (or try --sandbox)",
            "base_url": f"give --base-url or set {BASE_URL_ENV} (or try --sandbox)",
        }
        if exc.param in hints and (api_key if exc.param == "api_key" else base_url) is None:
            fail(f"no {_NAMES[exc.param]}: {hints[exc.param]}", EXIT_USAGE)
        if exc.param in _FLAGS:
            fail(f"{_FLAGS[exc.param]}: {exc.message}", EXIT_USAGE)
        fail(str(exc), EXIT_USAGE)


async def _run(client: AsyncClient, operation: WriteOperation, report: Report) -> WriteResult:
    async with client, operation as stream:
        async for event in stream.events():
            report.handle(event)
        return stream.result


def _report(platforms: Sequence[str], *, as_json: bool) -> tuple[Report, Console | None]:
    """Return how to show the write on stdout, and the live display's console if there is one.

    Live on a terminal, plain lines elsewhere, nothing but the result with --json.
    """
    if as_json:
        return _NoReport(), None
    console = Console(file=sys.stdout)
    if console.is_interactive:
        return LiveReport(platforms, console), console
    return PlainReport(platforms, sys.stdout), None


@contextmanager
def _sdk_log(*, verbose: bool, console: Console | None) -> Iterator[None]:
    """Route the ``socialwrite`` logger for the command's duration.

    Quiet by default: without a handler, logging's last resort would print
    the SDK's warnings on stderr next to the command's own one-line error.
    With --verbose, its retries and failures are shown: above the live
    display when there is one (a plain write to the terminal would tear it),
    else on stderr.
    """
    logger = logging.getLogger("socialwrite")
    handler: logging.Handler
    if not verbose:
        handler = logging.NullHandler()
    elif console is not None:
        handler = RichHandler(console=console, show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("socialwrite: %(levelname)s: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class _NoReport:
    """The reporter of ``--json``: the events are not shown, only the result at the end."""

    def __enter__(self) -> _NoReport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def handle(self, event: Event) -> None:
        """Drop the event."""


@click.command()
@content_options
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="PLATFORM.NAME=VALUE",
    callback=_parse_options,
    help="a per-platform option (repeatable), e.g. instagram.format=stories",
)
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="the write's idempotency key: the same key and content again publishes "
    "nothing new (default: a fresh key)",
)
@click.option(
    "--fan-out",
    is_flag=True,
    help="send one write per platform, all at once (keys KEY:PLATFORM), so each "
    "platform's result shows as soon as its own request returns, also from a server "
    "that answers JSON only",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="print the result as the protocol's JSON, and nothing else, on stdout",
)
@click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="post to a sandbox started in this process: no account needed, nothing real published",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="show the requests that failed and the retries, as they happen",
)
@click.option(
    "--proxy",
    metavar="URL",
    help="send through this HTTP proxy (default: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, "
    "minus NO_PROXY)",
)
@click.option(
    "--ca-bundle",
    metavar="PATH",
    help="trust the CA certificates in this PEM file (or directory) instead of the "
    "system's (default: the system's, or SSL_CERT_FILE / SSL_CERT_DIR)",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="do not check TLS certificates (for a test server only; prints a warning)",
)
@click.option("--api-key", envvar=API_KEY_ENV, show_envvar=True, help="the API key")
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV,
    show_envvar=True,
    help="the service root, without /v1",
)
@click.pass_context
def post(
    ctx: click.Context,
    /,
    *,
    platforms: tuple[str, ...],
    text: str | None,
    media: tuple[str, ...],
    alt_text: tuple[str, ...],
    options: dict[str, dict[str, str]],
    idempotency_key: str | None,
    fan_out: bool,
    as_json: bool,
    use_sandbox: bool,
    verbose: bool,
    proxy: str | None,
    ca_bundle: str | None,
    insecure: bool,
    api_key: str | None,
    base_url: str | None,
) -> None:
    """Post to several platforms at once.

    On a terminal, each local file's upload and each platform's progress is
    shown live; otherwise one line per platform is printed as its result
    arrives, then the credits used.

    Exits 0 when every platform succeeded, 1 when any failed (or the API did),
    2 for bad usage or input.

    \b
    Examples:
      socialwrite post --sandbox -p x -p instagram --text "Markets today" --media chart.png
      socialwrite post -p x -p bluesky --text "Hello" --json
      socialwrite post -p instagram --media reel.mp4 --option instagram.format=reels
    """  # noqa: D301 - click keeps a paragraph after a real \b (backspace) as written
    content = build_content(text, media, alt_text)
    verify = _verify(ca_bundle, insecure=insecure)
    with _service(ctx, use_sandbox=use_sandbox, platforms=platforms) as (key, url):
        client = _client(key, url, proxy=proxy, verify=verify)
        try:
            # Every check of the input happens here, before anything is sent.
            operation = client.write(
                platforms=list(platforms),
                content=content,
                options=options,
                idempotency_key=idempotency_key,
                fan_out=fan_out,
            )
        except ValidationError as exc:
            fail(str(exc), EXIT_USAGE)
        result = _write(
            client,
            operation,
            platforms,
            as_json=as_json,
            verbose=verbose,
            resumable=not use_sandbox,
            fan_out=fan_out,
        )
    if as_json:
        click.echo(result.to_json())
    if not result.ok:
        ctx.exit(EXIT_FAILED)


def _out_of_credits(error: APIError | MediaUploadError) -> bool:
    """True for a 402, also when it stopped an upload."""
    cause = error.cause if isinstance(error, MediaUploadError) else error
    return isinstance(cause, InsufficientCreditsError)


def _write(
    client: AsyncClient,
    operation: WriteOperation,
    platforms: Sequence[str],
    *,
    as_json: bool,
    verbose: bool,
    resumable: bool,
    fan_out: bool,
) -> WriteResult:
    """Run the write on a new event loop, showing its events; exit on an error.

    ``resumable`` says whether the service outlives the command, so that
    posting again with the same idempotency key can finish the write (a
    fan-out write's keys are the key's with ``:PLATFORM``: again with --fan-out).
    """
    report, console = _report(platforms, as_json=as_json)
    try:
        with _sdk_log(verbose=verbose, console=console), report:
            return asyncio.run(_run(client, operation, report))
    except ValidationError as exc:
        fail(str(exc), EXIT_USAGE)
    except (APIError, MediaUploadError) as exc:
        if _out_of_credits(exc):
            fail(
                "the account is out of credits, so nothing was published: add credits, "
                f"then post again ({type(exc).__name__}: {exc})",
                EXIT_FAILED,
            )
        fail(f"{type(exc).__name__}: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        again = f"--idempotency-key {operation.idempotency_key}" + (" --fan-out" if fan_out else "")
        hint = (
            f"; some platforms may have published: post again with {again} "
            "to finish without posting twice"
        )
        fail("interrupted" + (hint if resumable else ""), EXIT_INTERRUPTED)
