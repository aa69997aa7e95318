"""How ``socialwrite post`` shows a write's events: live on a terminal, plain lines elsewhere.

Both reporters take the events of ``stream.events()`` one by one, in the
order they arrive, and know nothing of the network: the command drives them.

- :class:`LiveReport` draws, with rich, a bar per local file being uploaded
  (bytes and rate) and a row per platform, a spinner with the platform's state
  until its result arrives, then its URL or its error. When the display stops,
  its last frame stays on screen with no spinner left in it, and the cursor
  is shown again, also after an error or Ctrl-C.
- :class:`PlainReport` prints one line per platform as each result arrives,
  with no escape sequences, for pipes, logs and CI.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import IO, Protocol

import attrs
from rich import filesize
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from .._converter import printable
from .._models import PlatformResult, WriteResult
from ..events import (
    Event,
    PlatformStatus,
    UploadCompleted,
    UploadProgress,
    UploadStarted,
    WriteCompleted,
)

__all__ = ["LiveReport", "PlainReport", "Report", "describe_failure", "format_credits"]

# Enough frames for the spinners to turn smoothly, few enough to stay cheap
# over a slow SSH link.
_REFRESH_PER_SECOND = 12.5


def describe_failure(result: PlatformResult) -> str:
    """Return a failed platform's error with its code, e.g. ``"Needs media (media_required)"``.

    Printable: what the server wrote loses its escape sequences.
    """
    error = printable(result.error or "") or "failed"
    return f"{error} ({printable(result.error_code)})" if result.error_code else error


def format_credits(credits_used: Decimal) -> str:
    """Return the credits line printed after a write."""
    return f"credits used: {credits_used}"


class Report(Protocol):
    """What the post command needs of a reporter: a context manager that takes events."""

    def __enter__(self) -> Report: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def handle(self, event: Event) -> None:
        """Show one event of the write."""


class PlainReport:
    """One line per platform as its result arrives, then the credits: no escape sequences."""

    def __init__(self, platforms: Sequence[str], out: IO[str]) -> None:
        """Prepare to report a write to ``platforms`` on ``out``."""
        self._width = max(len(platform) for platform in platforms)
        self._out = out

    def __enter__(self) -> PlainReport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._out.flush()

    def handle(self, event: Event) -> None:
        """Print a platform's result, or the credits when the write is done."""
        if isinstance(event, PlatformResult):
            if event.success:
                outcome = printable(event.url or "") or "published"
            else:
                outcome = f"failed: {describe_failure(event)}"
            self._write(f"{printable(event.platform):<{self._width}}  {outcome}")
        elif isinstance(event, WriteCompleted):
            self._write(format_credits(event.result.credits_used))

    def _write(self, line: str) -> None:
        self._out.write(line + "\n")
        # Flushed per line so that a reader at the other end of a pipe sees
        # each platform as it resolves, not everything at the end.
        self._out.flush()


class _RateColumn(ProgressColumn):
    """The upload's rate: recent while it runs, the average once done.

    rich's own speed column needs two progress samples, and a small file sends
    all its bytes in one: the average over the elapsed time always has a value.
    """

    def render(self, task: Task) -> Text:
        """Return the rate, or nothing for a file whose bytes were not sent."""
        if task.fields.get("reused"):
            return Text("")
        speed = task.finished_speed or task.speed
        elapsed = task.finished_time if task.finished else task.elapsed
        if speed is None and elapsed:
            speed = task.completed / elapsed
        if not speed:
            return Text("", style="progress.data.speed")
        return Text(f"{filesize.decimal(int(speed))}/s", style="progress.data.speed")


@attrs.define
class _PlatformRow:
    """One platform's line of the live display."""

    platform: str
    spinner: Spinner = attrs.field(factory=lambda: Spinner("dots", style="cyan"))
    state: str = "waiting"
    progress: float | None = None
    result: PlatformResult | None = None
    unfinished: bool = False


@attrs.frozen
class _UploadBar:
    """One local file's bar of the live display."""

    task: TaskID
    name: str
    total: int | None


class LiveReport:
    """A live rich display of the uploads and of each platform, for a terminal."""

    def __init__(self, platforms: Sequence[str], console: Console) -> None:
        """Prepare a display of a write to ``platforms`` on ``console``."""
        self._console = console
        self._rows = [_PlatformRow(platform) for platform in platforms]
        self._index = {platform: index for index, platform in enumerate(platforms)}
        self._width = max(len(platform) for platform in platforms)
        self._uploads = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            DownloadColumn(),
            _RateColumn(),
            console=console,
        )
        self._bars: dict[str | os.PathLike[str], _UploadBar] = {}
        self._result: WriteResult | None = None
        self._live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=_REFRESH_PER_SECOND,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveReport:
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A row still waiting when the display stops (an error, Ctrl-C) must
        # not be left on screen as a spinner that looks alive.
        for row in self._rows:
            if row.result is None:
                row.unfinished = True
        self._live.stop()  # draws the last frame and shows the cursor again
        if self._result is not None:
            self._console.print(format_credits(self._result.credits_used))

    def handle(self, event: Event) -> None:
        """Update the display with one event."""
        if isinstance(event, UploadStarted):
            self._bar(event.source, event.size)
        elif isinstance(event, UploadProgress):
            self._uploads.update(self._bar(event.source, event.total).task, completed=event.sent)
        elif isinstance(event, UploadCompleted):
            bar = self._bar(event.source, None)
            name = f"{bar.name} (already uploaded)" if event.reused else bar.name
            self._uploads.update(
                bar.task, description=name, completed=bar.total or 0, reused=event.reused
            )
        elif isinstance(event, PlatformStatus):
            row = self._rows[event.index]
            row.state, row.progress = event.state, event.progress
        elif isinstance(event, PlatformResult):
            # Results carry no index; a platform is listed once per write.
            self._rows[self._index[event.platform]].result = event
        elif isinstance(event, WriteCompleted):
            self._result = event.result
            for row, result in zip(self._rows, event.result.results, strict=True):
                row.result = result
        self._live.refresh()

    def _bar(self, source: str | os.PathLike[str], total: int | None) -> _UploadBar:
        """Return the bar of ``source``, adding it on the file's first event."""
        bar = self._bars.get(source)
        if bar is None:
            name = printable(os.path.basename(os.fspath(source)))
            bar = _UploadBar(self._uploads.add_task(name, total=total), name, total)
            self._bars[source] = bar
        return bar

    def _render(self) -> RenderableType:
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1, no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for row in self._rows:
            table.add_row(*self._cells(row))
        if not self._bars:
            return table
        return Group(self._uploads, table)

    def _cells(self, row: _PlatformRow) -> tuple[RenderableType, Text, Text]:
        name = Text(f"{row.platform:<{self._width}}", style="bold")
        result = row.result
        if result is not None and result.success:
            url = printable(result.url or "") or "published"
            return Text("✓", style="green"), name, Text(url, style="green")
        if result is not None:
            return Text("✗", style="red"), name, Text(describe_failure(result), style="red")
        if row.unfinished:
            return Text("·", style="yellow"), name, Text("no result", style="yellow")
        state = printable(row.state)
        if row.progress is not None:
            state = f"{state} {row.progress:.0%}"
        return row.spinner, name, Text(state, style="dim")
