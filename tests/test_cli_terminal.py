"""``socialwrite post`` as a person runs it: in a real pseudo-terminal, and through a pipe.

The terminal runs are read back through a terminal emulator (pyte), so the
checks are on what the screen finally shows, not on escape sequences.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pyte
import pytest

from socialwrite.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

CHART = Path(__file__).resolve().parent.parent / "examples" / "media" / "chart.png"
COLUMNS, ROWS = 100, 24
# The frames of rich's "dots" spinner, which the platform rows use.
SPINNER = frozenset("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
# Hides the cursor (DECTCEM reset), as a live display does while it runs.
HIDE_CURSOR = b"\x1b[?25l"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without what would force or forbid colours."""
    skip = {"FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES"}
    env = {name: value for name, value in os.environ.items() if name not in skip}
    env.update(TERM="xterm-256color", PYTHONUNBUFFERED="1", **extra)
    return env


def spawn(args: list[str]) -> tuple[pexpect.spawn, io.BytesIO]:
    """Start ``python ARGS`` in a pseudo-terminal; the buffer receives all it prints."""
    child = pexpect.spawn(sys.executable, args, dimensions=(ROWS, COLUMNS), env=environment())
    transcript = io.BytesIO()
    child.logfile_read = transcript
    return child, transcript


def post_args(sandbox: Sandbox, *platforms: str) -> list[str]:
    """``python -m socialwrite post`` with a file and ``platforms``, pointed at ``sandbox``."""
    args = ["-m", "socialwrite", "post", "--base-url", sandbox.base_url]
    args += ["--api-key", sandbox.api_key, "--text", "Markets today 📈", "--media", str(CHART)]
    for platform in platforms:
        args += ["-p", platform]
    return args


def final_screen(output: bytes) -> pyte.Screen:
    """The screen a terminal shows after receiving ``output``."""
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(output)
    return screen


def lines_of(screen: pyte.Screen) -> list[str]:
    """The screen's non-empty lines, without trailing blanks."""
    return [line.rstrip() for line in screen.display if line.strip()]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox whose platforms take a moment, so the live display has frames to draw."""
    config = SandboxConfig(latency={"x": 0.1, "instagram": 0.4, "bluesky": 0.2})
    with Sandbox(config).run_in_thread() as running:
        yield running


def test_live_progress_ends_with_each_url_and_the_cursor_back(sandbox: Sandbox) -> None:
    """On a terminal: spinner rows first, then every URL, no spinner left, cursor shown."""
    child, transcript = spawn(post_args(sandbox, "x", "instagram", "bluesky"))
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    output = transcript.getvalue()
    assert child.exitstatus == 0, output.decode(errors="replace")

    urls = {post.platform: post.url for post in sandbox.published()}
    text = output.decode()
    first_url = min(text.index(url) for url in urls.values())
    assert SPINNER & set(text[:first_url]), "no spinner row was drawn before the results"
    assert output.index(HIDE_CURSOR) < output.index(urls["x"].encode())

    screen = final_screen(output)
    shown = lines_of(screen)
    assert shown[0].startswith("chart.png ")
    assert "3.5/3.5 kB" in shown[0]
    assert shown[1:] == [
        f"✓ x         {urls['x']}",
        f"✓ instagram {urls['instagram']}",
        f"✓ bluesky   {urls['bluesky']}",
        "credits used: 0.0225",
    ]
    assert not SPINNER & set("".join(screen.display))
    assert not screen.cursor.hidden


def test_ctrl_c_leaves_no_spinner_and_restores_the_cursor() -> None:
    """Interrupted mid-write: the rows still waiting say so, the cursor is back, exit 130."""
    config = SandboxConfig(latency={"x": 0.0, "instagram": 30.0})
    with Sandbox(config).run_in_thread() as sandbox:
        child, transcript = spawn(post_args(sandbox, "x", "instagram"))
        child.expect("https://x.com/", timeout=60)
        child.sendintr()
        child.expect(pexpect.EOF, timeout=60)
        child.close()
        output = transcript.getvalue()
        x_url = sandbox.published()[0].url
    screen = final_screen(output)
    shown = lines_of(screen)
    assert f"✓ x         {x_url}" in shown
    assert "· instagram no result" in shown
    assert any(line.startswith("error: interrupted; ") for line in shown)
    assert not SPINNER & set("".join(screen.display))
    assert not screen.cursor.hidden
    assert child.exitstatus == 130


def test_piped_output_is_plain_lines(sandbox: Sandbox) -> None:
    """Without a terminal: one plain line per platform, then the credits, no escapes."""
    completed = subprocess.run(
        [sys.executable, *post_args(sandbox, "x", "bluesky")],
        capture_output=True,
        env=environment(),
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert b"\x1b" not in completed.stdout
    assert completed.stderr == b""
    urls = {post.platform: post.url for post in sandbox.published()}
    lines = completed.stdout.decode().splitlines()
    assert sorted(lines[:2]) == sorted([f"x        {urls['x']}", f"bluesky  {urls['bluesky']}"])
    assert lines[2:] == ["credits used: 0.015"]


def test_an_api_error_is_one_line_on_stderr(sandbox: Sandbox) -> None:
    """A refused key: exactly the command's one error line, no log line, no traceback."""
    args = ["post", "--base-url", sandbox.base_url, "--api-key", "not-the-key", "-p", "x"]
    completed = subprocess.run(
        [sys.executable, "-m", "socialwrite", *args, "--text", "hi"],
        capture_output=True,
        env=environment(),
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout == b""
    (line,) = completed.stderr.decode().splitlines()
    assert line.startswith("error: AuthenticationError: [401 ")


def test_piped_preview_is_plain_text() -> None:
    """preview through a pipe draws its tables without escape sequences."""
    completed = subprocess.run(
        [sys.executable, "-m", "socialwrite", "preview", "-p", "x", "--text", "Hello"],
        capture_output=True,
        env=environment(),
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert b"\x1b" not in completed.stdout
    assert "5 / 280" in completed.stdout.decode()
