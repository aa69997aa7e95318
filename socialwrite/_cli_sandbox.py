"""``socialwrite sandbox``: serve the local sandbox until stopped.

The fault options are written once, as argparse options, beside the
:class:`~socialwrite.sandbox.Faults` fields they set
(``socialwrite/sandbox/_faults_cli.py``). This module turns each of them into
the click option of the same name, type, default and help, so that an option
added there appears here with nothing else to change, and builds the
``Faults`` with the same function.

The sandbox listens on loopback only unless ``--allow-remote`` is given: it
accepts a well-known API key and publishes nothing real, but it should not be
reachable from a network by accident.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

import attrs
import click

from .sandbox import Sandbox, SandboxConfig
from .sandbox._faults_cli import add_fault_options, faults_from_args

__all__ = ["sandbox_command"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _converter(
    convert: Callable[[str], Any],
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that converts with an argparse ``type=`` function, keeping its messages."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        def one(text: Any) -> Any:
            if not isinstance(text, str):
                return text  # a default, already converted
            try:
                return convert(text)
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise click.BadParameter(str(exc), ctx, param) from None

        if param.multiple:
            return tuple(one(item) for item in value)
        return one(value)

    return callback


def _fault_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialwrite sandbox", add_help=False)
    add_fault_options(parser)
    return parser


def _click_option(parser: argparse.ArgumentParser, action: argparse.Action) -> click.Option:
    """The click option that does what the argparse ``action`` does."""
    declarations = [*action.option_strings, action.dest]
    # argparse expands %(default)s and the like in help texts; so does its formatter here.
    help_text = parser._get_formatter()._expand_help(action) if action.help else None
    if isinstance(action, argparse._StoreTrueAction):
        return click.Option(declarations, is_flag=True, default=False, help=help_text)
    metavar = action.metavar if isinstance(action.metavar, str) else None
    multiple = isinstance(action, argparse._AppendAction)
    settings: dict[str, Any] = {}
    if action.type is int:
        settings["type"] = click.INT
    elif action.type is float:
        settings["type"] = click.FLOAT
    elif callable(action.type):
        settings["callback"] = _converter(action.type)
        settings["metavar"] = metavar or action.dest.upper()
    return click.Option(
        declarations,
        multiple=multiple,
        default=() if multiple else action.default,
        help=help_text,
        **settings,
    )


def _fault_group(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup | None:
    """The argparse group that holds the fault options (its title and description)."""
    return next(
        (group for group in parser._action_groups if group.description),
        None,
    )


class _SandboxCommand(click.Command):
    """Lists the fault options in a section of their own, and the examples as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._faults_parser = _fault_parser()
        # The parser has no --help of its own: each of its actions is a fault option.
        for action in self._faults_parser._actions:
            self.params.append(_click_option(self._faults_parser, action))

    def _grouped(self) -> set[str]:
        group = _fault_group(self._faults_parser)
        return set() if group is None else {action.dest for action in group._group_actions}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        grouped = self._grouped()
        ordinary: list[tuple[str, str]] = []
        faults: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (faults if param.name in grouped else ordinary).append(record)
        with formatter.section("Options"):
            formatter.write_dl(ordinary)
        group = _fault_group(self._faults_parser)
        if group is not None and faults:
            with formatter.section((group.title or "fault injection").capitalize()):
                formatter.write_text(group.description or "")
                formatter.write_paragraph()
                formatter.write_dl(faults)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        epilog = self._faults_parser.epilog
        if epilog:
            formatter.write_paragraph()
            # Written as is: click would rewrap the examples' aligned lines.
            for line in epilog.rstrip("\n").splitlines():
                formatter.write(f"{line}\n")


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
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    /,
    *,
    host: str,
    port: int,
    api_key: str,
    allow_remote: bool,
    **fault_values: Any,
) -> None:
    """Serve the local sandbox until stopped (Ctrl-C).

    The sandbox speaks the full socialwrite protocol, uploads included, and
    publishes nothing real. Point any client at the base URL it prints, with
    its API key.
    """
    from . import cli  # noqa: PLC0415 - the serving loop lives with the entry point

    if not _is_loopback(host) and not allow_remote:
        msg = (
            f"--host {host} is not a loopback address; add --allow-remote to serve "
            "the sandbox on a network"
        )
        raise click.UsageError(msg, ctx)
    try:
        config = SandboxConfig(api_key=api_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param_hint="'--api-key'") from None
    try:
        faults = faults_from_args(argparse.Namespace(**fault_values))
        config = attrs.evolve(config, seed=fault_values["seed"], faults=faults)
    except ValueError as exc:
        msg = f"fault options: {exc}"
        raise click.UsageError(msg, ctx) from None
    sandbox = Sandbox(config, host=host, port=port)
    try:
        asyncio.run(cli._serve(sandbox))
    except KeyboardInterrupt:
        return
    except OSError as exc:
        click.echo(f"socialwrite sandbox: cannot listen on {host}:{port}: {exc}", err=True)
        ctx.exit(1)
    click.echo("socialwrite sandbox stopped")
