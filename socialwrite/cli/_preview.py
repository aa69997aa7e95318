"""``socialwrite preview``: what each platform would receive, with no network call."""

from __future__ import annotations

import json
import sys

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._errors import ValidationError
from .._validate import validate_platforms
from ..platforms import PlatformPreview, preview
from ._common import EXIT_USAGE, build_content, content_options, fail

__all__ = ["preview_command", "preview_table"]


def preview_table(item: PlatformPreview) -> Table:
    """Return one platform's preview as a table: its text, count and limit, warnings."""
    table = Table(
        title=item.platform,
        title_justify="left",
        title_style="bold",
        show_header=False,
        box=box.ROUNDED,
        expand=True,
    )
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold", ratio=1)
    table.add_row("text", Text(item.text))
    limit = "no known limit" if item.limit is None else str(item.limit)
    table.add_row("count", f"{item.count} / {limit}")
    warnings = Text(", ".join(item.warnings), style="yellow") if item.warnings else Text("none")
    table.add_row("warnings", warnings)
    return table


@click.command("preview")
@content_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="print the previews as JSON, keyed by platform",
)
def preview_command(
    *,
    platforms: tuple[str, ...],
    text: str | None,
    media: tuple[str, ...],
    alt_text: tuple[str, ...],
    as_json: bool,
) -> None:
    """Show what each platform would receive: no account, no network.

    For each platform: the text after its formatting and truncation, its
    length as that platform counts it against its limit, and warnings
    (truncated, media required but missing, too many or too large media, ...).

    \b
    Example:
      socialwrite preview -p x -p bluesky -p instagram --text "Markets today"
    """  # noqa: D301 - click keeps a paragraph after a real \b (backspace) as written
    content = build_content(text, media, alt_text)
    try:
        previews = preview(validate_platforms(list(platforms)), content)
    except ValidationError as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        shown = {
            platform: {
                "text": item.text,
                "count": item.count,
                "limit": item.limit,
                "warnings": list(item.warnings),
            }
            for platform, item in previews.items()
        }
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    console = Console(file=sys.stdout)
    for item in previews.values():
        console.print(preview_table(item))
