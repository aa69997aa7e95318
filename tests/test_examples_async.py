"""The trio and anyio examples, each run as a program against a sandbox in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialwrite._client import API_KEY_ENV, BASE_URL_ENV
from socialwrite.sandbox import Sandbox, SandboxConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox where instagram takes clearly longer than the other platforms."""
    config = SandboxConfig(api_key="examples-key", latency={"instagram": 0.5})
    with Sandbox(config).run_in_thread() as running:
        yield running


def run_example(sandbox: Sandbox, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` with the sandbox's URL and key in its environment."""
    env = {**os.environ, BASE_URL_ENV: sandbox.base_url, API_KEY_ENV: sandbox.api_key}
    return subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def result_lines(stdout: str) -> list[tuple[str, str]]:
    """The ``(platform, url)`` lines an example printed, in order (a ``[write]`` tag dropped)."""
    lines = []
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0].startswith("["):
            words = words[1:]
        if len(words) == 2 and words[1].startswith("https://"):
            lines.append((words[0], words[1]))
    return lines


def test_trio_post_prints_each_result_as_it_resolves(sandbox: Sandbox) -> None:
    """The trio example posts to the sandbox and prints the slow platform last."""
    done = run_example(sandbox, "trio_post.py")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    printed = result_lines(done.stdout)
    assert sorted(platform for platform, _ in printed) == ["bluesky", "instagram", "x"]
    assert printed[-1][0] == "instagram"
    published = {post.platform: post.url for post in sandbox.published()}
    assert dict(printed) == published
    assert done.stdout.splitlines()[-1] == "credits used: 0.0225"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_post_runs_on_the_chosen_loop(sandbox: Sandbox, backend: str) -> None:
    """The anyio example runs on the loop its flag names and posts both writes."""
    done = run_example(sandbox, "anyio_post.py", "--backend", backend)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == f"running on {backend}"
    printed = result_lines(done.stdout)
    assert sorted(platform for platform, _ in printed) == ["bluesky", "instagram", "linkedin", "x"]
    assert printed[-1][0] == "instagram"
    assert {post.platform: post.url for post in sandbox.published()} == dict(printed)
    assert lines[-2:] == ["[morning] credits used: 0.015", "[chart] credits used: 0.015"]


def test_anyio_post_refuses_an_unknown_loop(sandbox: Sandbox) -> None:
    """An unknown ``--backend`` is a usage error (exit 2) and posts nothing."""
    done = run_example(sandbox, "anyio_post.py", "--backend", "curio")
    assert done.returncode == 2
    assert "invalid choice: 'curio'" in done.stderr
    assert sandbox.published() == []
