"""``socialwrite sandbox``: serve the local sandbox until stopped.

The fault options are declared once, beside the :class:`~socialwrite.sandbox.Faults`
they set (:data:`~socialwrite.sandbox._faults_config.FAULT_OPTIONS`). This module
renders each as a click option of the same name, metavar and help, whose value
parses into ``Faults`` settings, so that an option added there appears here
with nothing else to change.

The sandbox listens on loopback only unless ``--allow-remote`` is given: it
accepts a well-known API key and publishes nothing real, but it should not be
reachable from a network by accident.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import click

from ..sandbox import Faults, Sandbox, SandboxConfig
from ..sandbox._faults_config import FAULT_OPTIONS, FaultOption, faults_from_options
from ._serve import serve

__all__ = ["sandbox_command"]

_FAULTS_TITLE = "Fault injection"
_FAULTS_INTRO = (
    "Make the sandbox misbehave on purpose, to test how a client copes. Counted "
    "options hit the next N requests of their sort; --chaos hits a seeded random "
    "share of all requests. A request gets one fault at most. GET "
    "/v1/sandbox/faults shows what was injected. See docs/sandbox-faults.md."
)
_EXAMPLES = """\
Examples:
  socialwrite sandbox --fail-writes 3:429 --retry-after 2
      the next 3 writes are rate limited, each asking to wait 2 s
  socialwrite sandbox --drop-after-publish 1:2 --truncate-streams 1:0
      the next write publishes, then its stream breaks after 2 events;
      the write after it gets a stream that ends at once without 'done'
  socialwrite sandbox --chaos 0.3 --seed 42 --slow-writes 0:0.2
      30 % of requests get a random fault (slow answers wait 0.2 s);
      N=0 sets only a counted option's VALUE, for the random faults
  socialwrite sandbox --chaos-kind server_error=0.1 --chaos-kind dropped_put=0.5
      10 % of writes are answered 503, half the upload PUTs are cut
  socialwrite sandbox --compat --credits 0.015 --fail-writes 1:502 --html-errors
      answer like a real vendor (JSON only, results reordered, numeric post ids,
      flat errors, no uploads); the first write gets a proxy's HTML 502 page;
      two platforms' posts use up the credits, then writes get 402
"""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parsing(
    parse: Callable[[str], Mapping[str, Any]],
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that parses an option's text (or texts) into ``Faults`` settings."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        def one(text: str) -> Mapping[str, Any]:
            try:
                return parse(text)
            except ValueError as exc:
                raise click.BadParameter(str(exc), ctx, param) from None

        if value is None:
            return None
        if param.multiple:
            return tuple(one(text) for text in value)
        return one(value)

    return callback


def _click_option(option: FaultOption) -> click.Option:
    """The click option that ``option`` declares."""
    if option.parse is None:
        return click.Option([option.name, option.dest], is_flag=True, help=option.help)
    return click.Option(
        [option.name, option.dest],
        metavar=option.metavar,
        multiple=option.repeatable,
        callback=_parsing(option.parse),
        help=option.help,
    )


def _given(values: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield the settings of each fault option given, in the order of ``FAULT_OPTIONS``."""
    for option in FAULT_OPTIONS:
        value = values[option.dest]
        if option.parse is None:
            if value:
                yield option.flag_settings
        elif option.repeatable:
            yield from value
        elif value is not None:
            yield value


class _SandboxCommand(click.Command):
    """Takes the fault options and lists them in a section of their own, then the examples."""

    _fault_names = frozenset(option.dest for option in FAULT_OPTIONS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_click_option(option) for option in FAULT_OPTIONS)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the command's own options, then the fault options under their heading."""
        ordinary: list[tuple[str, str]] = []
        faults: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (faults if param.name in self._fault_names else ordinary).append(record)
        with formatter.section("Options"):
            formatter.write_dl(ordinary)
        with formatter.section(_FAULTS_TITLE):
            formatter.write_text(_FAULTS_INTRO)
            formatter.write_paragraph()
            formatter.write_dl(faults)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the examples as they are: click would rewrap their aligned lines."""
        formatter.write_paragraph()
        formatter.write(_EXAMPLES)


def _parse_credits(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """The click callback of ``--credits``: a decimal number of 0 or more."""
    if value is None:
        return None
    try:
        balance = Decimal(value)
    except InvalidOperation:
        balance = Decimal("NaN")
    if not balance.is_finite() or balance < 0:
        msg = f"{value!r} is not a number of credits of 0 or more"
        raise click.BadParameter(msg, ctx, param)
    return balance


def _config(ctx: click.Context, *, api_key: str, faults: Faults, **settings: Any) -> SandboxConfig:
    try:
        config = SandboxConfig(api_key=api_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param_hint="'--api-key'") from None
    return attrs.evolve(config, faults=faults, **settings)


def _faults(ctx: click.Context, values: Mapping[str, Any], *, seed: int) -> Faults:
    try:
        return faults_from_options(_given(values), seed=seed)
    except ValueError as exc:
        msg = f"fault options: {exc}"
        raise click.UsageError(msg, ctx) from None


@click.command("sandbox", cls=_SandboxCommand)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="the address to listen on",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="the port to listen on; 0 picks a free one",
)
@click.option(
    "--api-key",
    default="sandbox",
    show_default=True,
    help="the API key clients must send",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="allow a --host that is not a loopback address",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    help="seed of the post ids and of the random faults: the same requests in the "
    "same order get the same ids and faults (default: 0)",
)
@click.option(
    "--compat",
    is_flag=True,
    help="answer like real vendors and proxies, to try a client's tolerance: JSON only "
    "(no event stream), results in another order than the platforms, numeric post ids, "
    'flat error bodies ({"error": "<code>", "message": ...}), no upload endpoint (404)',
)
@click.option(
    "--credits",
    metavar="CREDITS",
    callback=_parse_credits,
    help="the account's credit balance (0.0075 per platform that succeeds); a write it "
    "cannot cover gets 402 insufficient_credits (default: unlimited)",
)
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    /,
    *,
    host: str,
    port: int,
    api_key: str,
    allow_remote: bool,
    seed: int,
    compat: bool,
    credits: Decimal | None,  # noqa: A002 - the option's name
    **fault_values: Any,
) -> None:
    """Serve the local sandbox until stopped (Ctrl-C).

    The sandbox speaks the full socialwrite protocol, uploads included, and
    publishes nothing real. Point any client at the base URL it prints, with
    its API key. With --compat it answers as real vendors do instead.
    """
    if not _is_loopback(host) and not allow_remote:
        msg = (
            f"--host {host} is not a loopback address; add --allow-remote to serve "
            "the sandbox on a network"
        )
        raise click.UsageError(msg, ctx)
    faults = _faults(ctx, fault_values, seed=seed)
    config = _config(ctx, api_key=api_key, faults=faults, seed=seed, compat=compat, credits=credits)
    sandbox = Sandbox(config, host=host, port=port)
    try:
        asyncio.run(serve(sandbox))
    except KeyboardInterrupt:
        return
    except OSError as exc:
        click.echo(f"socialwrite sandbox: cannot listen on {host}:{port}: {exc}", err=True)
        ctx.exit(1)
    click.echo("socialwrite sandbox stopped")
