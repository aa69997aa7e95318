"""The ``socialwrite`` command line: ``post``, ``preview`` and ``sandbox``.

```
socialwrite post -p x -p instagram --text "Markets today 📈" --media chart.png
socialwrite preview -p x -p bluesky --text "..."
socialwrite sandbox --port 8787
```

The commands are built with click and draw their progress with rich, both in
the ``cli`` extra (``pip install "socialwrite[cli]"``). This module is the
entry point and needs neither: without them it says what to install instead
of failing with a traceback. The commands live in the ``_cli_*`` modules.

Exit codes: 0 when everything succeeded, 1 when a platform or the API
failed, 2 for bad usage or input (with a one-line reason on stderr).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT = "socialwrite: the command line needs its extra: pip install 'socialwrite[cli]'"
"""What the command prints when click or rich is not installed."""

_EXTRA_MODULES = frozenset({"click", "rich"})


async def _serve(sandbox: Sandbox) -> None:
    """Serve ``sandbox`` on the running loop until SIGINT or SIGTERM, printing its banner."""
    from .sandbox._faults_cli import describe_faults  # noqa: PLC0415 - only when serving

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    # Windows event loops take no signal handlers, and neither does a loop
    # outside the main thread: there Ctrl-C arrives as KeyboardInterrupt
    # instead, which the sandbox command turns into a clean exit too.
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: the process's arguments).

    Like ``argparse``, it returns when the command ran to its end and exits
    (raises ``SystemExit``) for everything else.

    Args:
        argv: the arguments after the program name.

    Returns:
        0: the command succeeded (the sandbox stopped with Ctrl-C included).
        1: click or rich is missing (the message says what to install).

    Raises:
        SystemExit: with 0 after ``--help`` or ``--version``, 1 when a
            platform or the API failed, 2 for bad usage or input.
    """
    try:
        import click  # noqa: PLC0415 - optional: the cli extra

        from ._cli_app import cli  # noqa: PLC0415 - imports rich
    except ModuleNotFoundError as exc:
        if exc.name not in _EXTRA_MODULES:
            raise
        sys.stderr.write(INSTALL_HINT + "\n")
        return 1
    args = list(sys.argv[1:] if argv is None else argv)
    # click's own main() always ends in sys.exit(); this keeps argparse's
    # contract, which callers and tests of main() rely on: a finished command
    # returns its code.
    try:
        with cli.make_context("socialwrite", args) as context:
            cli.invoke(context)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (click.Abort, KeyboardInterrupt):
        sys.stderr.write("socialwrite: interrupted\n")
        raise SystemExit(130) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
