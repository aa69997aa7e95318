"""The examples, each run against a sandbox: as programs, or in-process where that is natural."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import socialwrite
from socialwrite._client import API_KEY_ENV, BASE_URL_ENV
from socialwrite.sandbox import Faults, Sandbox, SandboxConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHART = EXAMPLES / "media" / "chart.png"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with its own key, so an example that ignored the settings would fail."""
    with Sandbox(SandboxConfig(api_key="examples-key")).run_in_thread() as running:
        yield running


def example_env(sandbox: Sandbox | None) -> dict[str, str]:
    """The environment of an example: pointed at ``sandbox``, or at none."""
    env = {
        name: value for name, value in os.environ.items() if name not in (API_KEY_ENV, BASE_URL_ENV)
    }
    if sandbox is not None:
        env.update({BASE_URL_ENV: sandbox.base_url, API_KEY_ENV: sandbox.api_key})
    return env


def run_example(sandbox: Sandbox | None, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` as a program, with warnings as errors."""
    return subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name), *args],
        env=example_env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def import_example(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``examples/<name>.py`` as the module ``name``."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: pydantic resolves the models' annotations through it.
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


# -- the quickstart ----------------------------------------------------------------------------


def test_quickstart_posts_on_its_own_sandbox() -> None:
    """examples/quickstart.py needs nothing set: both platforms publish, credits last."""
    done = run_example(None, "quickstart.py")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["x", "instagram"]
    assert all(line.split()[1].startswith("https://") for line in lines[:2])
    assert lines[2:] == ["credits used: 0.015"]


# -- the blocking script -----------------------------------------------------------------------


def test_blocking_script_uploads_the_chart_and_posts(sandbox: Sandbox) -> None:
    """The script uploads the chart once; both platforms get it, with the alt text."""
    done = run_example(sandbox, "blocking_script.py", "x", "instagram")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    x, instagram = sandbox.published()
    assert x.media == instagram.media
    assert httpx.get(x.media[0]).content == CHART.read_bytes()
    assert x.alt_text == ("Line chart of the index, rising through the day",)
    assert dict(instagram.options) == {"first_comment": "#markets #stocks"}
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"x          {x.url}", f"instagram  {instagram.url}"]
    assert lines[2].startswith("credits used: 0.015  (idempotency key ")
    assert x.idempotency_key is not None
    assert x.idempotency_key in lines[2]


def test_blocking_script_exits_1_when_a_platform_fails(sandbox: Sandbox) -> None:
    """A platform that refuses the post is printed with its code, and the exit code is 1."""
    done = run_example(sandbox, "blocking_script.py", "x", "youtube")
    assert done.returncode == 1, done.stderr
    assert "youtube    failed: " in done.stdout
    assert [post.platform for post in sandbox.published()] == ["x"]


def test_blocking_script_exits_2_on_bad_input(sandbox: Sandbox) -> None:
    """Input the SDK refuses is one line on stderr, exit 2, nothing sent."""
    done = run_example(sandbox, "blocking_script.py", "X")
    assert done.returncode == 2
    assert done.stderr.startswith("error: platforms[0]: ")
    assert sandbox.stats.writes_received == 0


def test_blocking_script_posts_on_its_own_sandbox() -> None:
    """Without SOCIALWRITE_BASE_URL the script starts a sandbox and posts there."""
    done = run_example(None, "blocking_script.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].startswith("credits used: 0.015")


# -- the FastAPI app ---------------------------------------------------------------------------


@pytest.fixture
def web_app(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The FastAPI example, configured through the environment for ``sandbox``."""
    monkeypatch.setenv(BASE_URL_ENV, sandbox.base_url)
    monkeypatch.setenv(API_KEY_ENV, sandbox.api_key)
    return import_example("fastapi_app", monkeypatch)


def test_web_app_shares_one_client_and_closes_it(sandbox: Sandbox, web_app: ModuleType) -> None:
    """Every request uses the lifespan's client; it is closed when the app stops."""
    with TestClient(web_app.app) as http:
        client = web_app.app.state.socialwrite
        for text in ("first", "second"):
            response = http.post("/posts", json={"platforms": ["x"], "text": text})
            assert response.status_code == 200, response.text
            assert web_app.app.state.socialwrite is client
        assert not client.is_closed
    assert client.is_closed
    assert [post.text for post in sandbox.published()] == ["first", "second"]


def test_web_app_reports_each_platform(sandbox: Sandbox, web_app: ModuleType) -> None:
    """The answer has one outcome per platform, in order; a failure is reported, not raised."""
    body = {
        "platforms": ["bluesky", "instagram"],
        "text": "We are live 🚀",
        "media": ["https://images.example.com/launch.jpg"],
        "alt_text": "The launch banner",
        "options": {"instagram": {"format": "stories"}},
    }
    with TestClient(web_app.app) as http:
        answer: dict[str, Any] = http.post("/posts", json=body).json()
    bluesky, instagram = sandbox.published()
    assert answer["ok"] is True
    assert [item["url"] for item in answer["results"]] == [bluesky.url, instagram.url]
    assert answer["credits_used"] == "0.015"
    assert dict(instagram.options) == {"format": "stories"}
    assert bluesky.alt_text == ("The launch banner",)

    with TestClient(web_app.app) as http:
        answer = http.post("/posts", json={"platforms": ["x", "tiktok"], "text": "hi"}).json()
    assert answer["ok"] is False
    assert answer["results"][1]["error_code"] == "media_required"


def test_web_app_passes_the_callers_idempotency_key(sandbox: Sandbox, web_app: ModuleType) -> None:
    """A retried request with the same Idempotency-Key publishes once."""
    body = {"platforms": ["x"], "text": "Only once"}
    with TestClient(web_app.app) as http:
        first = http.post("/posts", json=body, headers={"Idempotency-Key": "launch-42"}).json()
        again = http.post("/posts", json=body, headers={"Idempotency-Key": "launch-42"}).json()
    assert first == again
    assert first["idempotency_key"] == "launch-42"
    assert sandbox.stats.publishes_for("launch-42") == 1


def test_web_app_refuses_bad_input(sandbox: Sandbox, web_app: ModuleType) -> None:
    """A local path as media, or input the SDK refuses, is a 422 and nothing is sent."""
    with TestClient(web_app.app) as http:
        path = http.post("/posts", json={"platforms": ["x"], "media": [str(CHART)]})
        platform = http.post("/posts", json={"platforms": ["X"], "text": "hi"})
    assert path.status_code == 422
    assert platform.status_code == 422
    assert platform.json()["detail"]["param"] == "platforms[0]"
    assert sandbox.stats.writes_received == 0


def test_web_app_turns_an_api_error_into_502(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the social API refuses the key, the app answers 502 and says why."""
    monkeypatch.setenv(BASE_URL_ENV, sandbox.base_url)
    monkeypatch.setenv(API_KEY_ENV, "not-the-key")
    web_app = import_example("fastapi_app", monkeypatch)
    with TestClient(web_app.app) as http:
        response = http.post("/posts", json={"platforms": ["x"], "text": "hi"})
    assert response.status_code == 502
    assert "[401" in response.json()["detail"]


def test_web_app_asks_its_caller_to_wait_when_rate_limited(
    sandbox: Sandbox, web_app: ModuleType
) -> None:
    """A 429 that outlasts the client's retries becomes a 503 with Retry-After, rounded up."""
    sandbox.set_faults(Faults(fail_writes=1, fail_status=429, retry_after=2.5))
    with TestClient(web_app.app) as http:
        client = web_app.app.state.socialwrite
        client.retry_policy = client.retry_policy.with_max_retries(0)
        response = http.post("/posts", json={"platforms": ["x"], "text": "hi"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    assert sandbox.published() == []


def test_web_app_previews_without_the_network(sandbox: Sandbox, web_app: ModuleType) -> None:
    """/previews answers what socialwrite.preview says, and sends nothing."""
    with TestClient(web_app.app) as http:
        shown = http.post("/previews", json={"platforms": ["x"], "text": "Markets 📈"}).json()
    expected = socialwrite.preview(["x"], {"text": "Markets 📈"})["x"]
    assert shown == {"x": {"text": expected.text, "count": 10, "limit": 280, "warnings": []}}
    assert sandbox.stats.writes_received == 0


# -- the bot -----------------------------------------------------------------------------------


def test_bot_posts_each_update_then_stops(sandbox: Sandbox) -> None:
    """With --max-posts, the bot posts that many updates to each platform and exits 0."""
    done = run_example(sandbox, "queue_bot.py", "--max-posts", "3", "--interval", "0", "-p", "x")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    published = sandbox.published()
    assert sorted(post.text or "" for post in published) == [
        f"Market update #{number} 📈" for number in (1, 2, 3)
    ]
    assert len({post.idempotency_key for post in published}) == 3
    assert sorted(done.stdout.splitlines()[:-1]) == sorted(
        f"[{post.idempotency_key}] x {post.url}" for post in published
    )
    assert done.stdout.splitlines()[-1] == (
        "stopped: 3 posts, 3 published, 0 failed, credits used 0.0225"
    )


def test_bot_stops_cleanly_on_sigterm(sandbox: Sandbox) -> None:
    """SIGTERM: no new update, the queued ones finish, the client closes, exit 0."""
    with subprocess.Popen(
        [sys.executable, "-W", "error", str(EXAMPLES / "queue_bot.py"), "--interval", "0.05"],
        env={**example_env(sandbox), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            first = process.stdout.readline()
            assert " https://" in first, first
            process.send_signal(signal.SIGTERM)
            # Read through the same buffered file as readline(): communicate()
            # would miss what that buffer already holds.
            rest = process.stdout.read()
            stderr = process.stderr.read()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr
    assert stderr == ""
    lines = [first.rstrip("\n"), *rest.splitlines()]
    published = sandbox.published()
    assert len(lines) - 1 == len(published)
    posts = len(published) // 2  # x and bluesky each published every update
    summary, credits_used = lines[-1].split(", credits used ")
    assert summary == f"stopped: {posts} posts, {len(published)} published, 0 failed"
    assert Decimal(credits_used) == Decimal("0.0075") * len(published)
