"""The post command's reporters, fed events directly: what the screen and the lines show."""

from __future__ import annotations

import io
from decimal import Decimal

import pyte
from rich.console import Console

from socialwrite import PlatformResult, WriteResult
from socialwrite.cli._progress import LiveReport, PlainReport
from socialwrite.events import (
    Event,
    PlatformStatus,
    UploadCompleted,
    UploadProgress,
    UploadStarted,
    WriteCompleted,
)

COLUMNS, ROWS = 100, 12
X = PlatformResult(platform="x", success=True, post_id="1", url="https://x.com/s/status/1")
INSTAGRAM = PlatformResult(
    platform="instagram",
    success=False,
    error="Instagram needs an image or a video",
    error_code="media_required",
)
DONE = WriteCompleted(result=WriteResult(results=(X, INSTAGRAM), credits_used=Decimal("0.0075")))


class StoppedError(Exception):
    """What stops a write early in these tests."""


def screen_after(events: list[Event], *, stop_early: bool = False) -> pyte.Screen:
    """Feed ``events`` to a live report on a fake terminal; return what it finally shows."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=COLUMNS, height=ROWS)
    report = LiveReport(["x", "instagram"], console)
    try:
        with report:
            for event in events:
                report.handle(event)
            if stop_early:
                raise StoppedError  # noqa: TRY301 - the body of the display is what stops
    except StoppedError:
        assert stop_early
    return terminal(out.getvalue())


def terminal(output: str) -> pyte.Screen:
    """The screen a terminal shows after ``output``."""
    screen = pyte.Screen(COLUMNS, ROWS)
    # A terminal's line discipline turns each LF into CR LF; a StringIO does not.
    screen.set_mode(pyte.modes.LNM)
    pyte.Stream(screen).feed(output)
    return screen


def shown(screen: pyte.Screen) -> list[str]:
    """The screen's non-empty lines."""
    return [line.rstrip() for line in screen.display if line.strip()]


def test_the_final_frame_has_each_outcome_and_the_credits() -> None:
    """A success shows its URL, a failure its error and code, then the credits line."""
    events: list[Event] = [
        UploadStarted(source="charts/a.png", size=2000),
        UploadProgress(source="charts/a.png", sent=1000, total=2000),
        UploadProgress(source="charts/a.png", sent=2000, total=2000),
        UploadCompleted(source="charts/a.png", url="https://media.example/a.png"),
        PlatformStatus(platform="instagram", index=1, state="processing", progress=0.5),
        X,
        INSTAGRAM,
        DONE,
    ]
    screen = screen_after(events)
    lines = shown(screen)
    assert lines[0].startswith("a.png ")
    assert "2.0/2.0 kB" in lines[0]
    assert lines[1:] == [
        "✓ x         https://x.com/s/status/1",
        "✗ instagram Instagram needs an image or a video (media_required)",
        "credits used: 0.0075",
    ]
    assert not screen.cursor.hidden


def test_a_reused_upload_says_so_and_shows_no_rate() -> None:
    """A file the service already held is marked as such, with no transfer rate."""
    events: list[Event] = [
        UploadStarted(source="a.png", size=2000),
        UploadCompleted(source="a.png", url="https://media.example/a.png", reused=True),
        X,
        INSTAGRAM,
        DONE,
    ]
    first = shown(screen_after(events))[0]
    assert first.startswith("a.png (already uploaded) ")
    assert first.endswith("2.0/2.0 kB")


def test_rows_left_waiting_by_an_error_say_no_result() -> None:
    """When the write stops early, waiting rows lose their spinner and the cursor comes back."""
    screen = screen_after(
        [PlatformStatus(platform="instagram", index=1, state="queued"), X], stop_early=True
    )
    assert shown(screen) == ["✓ x         https://x.com/s/status/1", "· instagram no result"]
    assert not screen.cursor.hidden


def test_a_waiting_row_shows_its_state_and_progress() -> None:
    """Before its result, a row has a spinner and the platform's state with its progress."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=COLUMNS, height=ROWS)
    report = LiveReport(["x", "instagram"], console)
    with report:
        report.handle(
            PlatformStatus(platform="instagram", index=1, state="processing", progress=0.25)
        )
        screen = pyte.Screen(COLUMNS, ROWS)
        pyte.Stream(screen).feed(out.getvalue())
        assert screen.cursor.hidden
        rows = shown(screen)
        report.handle(DONE)
    assert rows[1].endswith(" instagram processing 25%")
    assert rows[0].endswith(" x         waiting")
    assert rows[0][0] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def test_plain_lines_per_result_then_the_credits() -> None:
    """Piped output: one aligned line per result as it comes, the credits last, no escapes."""
    out = io.StringIO()
    with PlainReport(["x", "instagram"], out) as report:
        for event in (UploadStarted(source="a.png", size=3), INSTAGRAM, X, DONE):
            report.handle(event)
    assert out.getvalue().splitlines() == [
        "instagram  failed: Instagram needs an image or a video (media_required)",
        "x          https://x.com/s/status/1",
        "credits used: 0.0075",
    ]
