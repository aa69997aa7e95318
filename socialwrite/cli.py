"""The ``socialwrite`` command line.

For now it has one command, ``socialwrite sandbox``, which serves the local
sandbox (the full protocol, no account needed) until stopped, so that any HTTP
client, the SDK in another process included, can be tried against it.

The sandbox listens on loopback only unless ``--allow-remote`` is given: it
accepts a well-known API key and publishes nothing real, but it should not be
reachable from a network by accident.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
import threading
from collections.abc import Callable

import attrs

from .sandbox import Sandbox, SandboxConfig
from .sandbox._faults_cli import add_fault_options, describe_faults, faults_from_args

__all__ = ["main"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialwrite", description="Post to many social platforms at once."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the local sandbox until stopped (Ctrl-C)",
        description=(
            "Serve the local sandbox, which speaks the full socialwrite protocol and "
            "publishes nothing real, until stopped with Ctrl-C."
        ),
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=8787,
        help="port to listen on; 0 picks a free one (default: 8787)",
    )
    sandbox.add_argument(
        "--api-key", default="sandbox", help="the API key clients must send (default: sandbox)"
    )
    sandbox.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not a loopback address",
    )
    add_fault_options(sandbox)
    return parser


async def _serve(sandbox: Sandbox) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    # Windows event loops take no signal handlers, and neither does a loop
    # outside the main thread: there Ctrl-C arrives as KeyboardInterrupt
    # instead, which main() turns into a clean exit too.
    if sys.platform != "win32" and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with sandbox:
            sys.stdout.write(
                f"socialwrite sandbox serving at {sandbox.base_url}\n"
                f"API key: {sandbox.api_key}\n"
                f"  export SOCIALWRITE_BASE_URL={sandbox.base_url}\n"
                f"  export SOCIALWRITE_API_KEY={sandbox.api_key}\n"
                "Press Ctrl-C to stop.\n"
            )
            for line in describe_faults(sandbox.faults):
                sys.stdout.write(f"Fault: {line}\n")
            sys.stdout.flush()
            await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def _run_sandbox(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not _is_loopback(args.host) and not args.allow_remote:
        parser.error(
            f"--host {args.host} is not a loopback address; add --allow-remote to serve "
            "the sandbox on a network"
        )
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    try:
        config = SandboxConfig(api_key=args.api_key)
    except ValueError as exc:
        parser.error(f"--api-key: {exc}")
    try:
        config = attrs.evolve(config, seed=args.seed, faults=faults_from_args(args))
    except ValueError as exc:
        parser.error(f"fault options: {exc}")
    sandbox = Sandbox(config, host=args.host, port=args.port)
    try:
        asyncio.run(_serve(sandbox))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        sys.stderr.write(f"socialwrite sandbox: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 1
    sys.stdout.write("socialwrite sandbox stopped\n")
    return 0


_COMMANDS: dict[str, Callable[[argparse.ArgumentParser, argparse.Namespace], int]] = {
    "sandbox": _run_sandbox,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: the process's arguments).

    Returns:
        The exit code: 0 on success (the sandbox stopped with Ctrl-C included),
        1 when the sandbox cannot listen. Bad usage exits with code 2.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    # argparse only lets through a command that has a subparser, so this lookup
    # cannot miss.
    return _COMMANDS[args.command](parser, args)


if __name__ == "__main__":
    sys.exit(main())
