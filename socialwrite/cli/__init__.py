"""The ``socialwrite`` command line: ``post``, ``preview`` and ``sandbox``.

```
socialwrite post -p x -p instagram --text "Markets today 📈" --media chart.png
socialwrite preview -p x -p bluesky --text "..."
socialwrite sandbox --port 8787
```

The commands are built with click and draw their progress with rich, both in
the ``cli`` extra (``pip install "socialwrite[cli]"``). This module is the
entry point and needs neither: without them it says what to install instead
of failing with a traceback.

Imports flow one way, and nothing imports this module back::

    __init__ (main) -> _app (the click group)
        -> _post, _preview, _sandbox (the commands)
            -> _common, _progress, _serve (what they share, draw and run)

Exit codes: 0 when everything succeeded, 1 when a platform or the API
failed, 2 for bad usage or input (with a one-line reason on stderr).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT = "socialwrite: the command line needs its extra: pip install 'socialwrite[cli]'"
"""What the command prints when click or rich is not installed."""

_EXTRA_MODULES = frozenset({"click", "rich"})

_EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it; _common.EXIT_INTERRUPTED needs click


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
            platform or the API failed, 2 for bad usage or input, 130 when
            interrupted.
    """
    try:
        import click  # noqa: PLC0415 - optional: the cli extra

        from ._app import cli  # noqa: PLC0415 - imports rich
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
        raise SystemExit(_EXIT_INTERRUPTED) from None
    return 0
