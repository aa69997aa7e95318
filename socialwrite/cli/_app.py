"""The ``socialwrite`` click group: its commands, ``--help`` and ``--version``."""

from __future__ import annotations

import click

from ._post import post
from ._preview import preview_command
from ._sandbox import sandbox_command

__all__ = ["cli"]


@click.group("socialwrite", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="socialwrite", prog_name="socialwrite")
def cli() -> None:
    """Post to many social platforms at once.

    \b
    Try it with no account, on a sandbox started in-process:
      socialwrite post --sandbox -p x -p instagram --text "Markets today" --media chart.png

    The API key and the service's base URL come from --api-key and --base-url,
    or the SOCIALWRITE_API_KEY and SOCIALWRITE_BASE_URL environment variables.
    """  # noqa: D301 - click keeps a paragraph after a real \b (backspace) as written


cli.add_command(post)
cli.add_command(preview_command)
cli.add_command(sandbox_command)
