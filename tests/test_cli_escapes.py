"""The command line prints no escape sequence a server sent: the text stays, the escapes go."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .test_cli import run

HOSTILE = "\x1b]0;TITLE\x07\x1b[31m"
KEY = "sk_live_cli_0123456789abcdef"


def result(platform: str, *, success: bool) -> dict[str, object]:
    """A platform's result whose every server-written text carries escape sequences."""
    if success:
        return {
            "platform": platform,
            "success": True,
            "post_id": f"{HOSTILE}1",
            "url": f"https://{HOSTILE}example.com/1",
            "error": None,
        }
    return {
        "platform": platform,
        "success": False,
        "post_id": None,
        "url": None,
        "error": f"{HOSTILE}refused\x1b[0m",
        "error_code": f"{HOSTILE}nope",
    }


def answer_for(status: int) -> tuple[int, bytes]:
    """The canned answer: a write's JSON answer, or an error whose message is hostile."""
    if status != 200:
        body = {"error": {"message": f"{HOSTILE}bad key\x1b[0m", "type": "authentication_error"}}
        return status, json.dumps(body).encode()
    results = [result("x", success=True), result("bluesky", success=False)]
    return 200, json.dumps({"results": results, "credits_used": 0}).encode()


@contextmanager
def canned_server(status: int) -> Iterator[str]:
    """Answer every POST with ``answer_for(status)``, in a thread; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            code, body = answer_for(status)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Request-Id", f"{HOSTILE}req")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("status", [200, 401])
def test_piped_output_has_no_escape_sequence(status: int) -> None:
    """Result lines and the error line keep the server's text and drop its escapes."""
    with canned_server(status) as base_url:
        outcome = run(
            "post",
            "--base-url",
            base_url,
            "--api-key",
            KEY,
            "--text",
            "hi",
            "-p",
            "x",
            "-p",
            "bluesky",
        )
    printed = outcome.stdout + outcome.stderr
    assert "\x1b" not in printed
    assert "\x07" not in printed
    assert "TITLE" not in printed
    assert KEY not in printed
    if status == 200:
        assert "https://example.com/1" in outcome.stdout
        assert "failed: refused (nope)" in outcome.stdout
    else:
        assert "bad key" in outcome.stderr


def test_the_sandbox_fault_feeds_escapes_that_the_cli_drops() -> None:
    """``Faults(escape_sequences=True)``: the sandbox sends escapes; ``post`` prints none."""
    from socialwrite.sandbox import Faults, Sandbox, SandboxConfig

    config = SandboxConfig(faults=Faults(escape_sequences=True), not_connected={"bluesky"})
    with Sandbox(config).run_in_thread() as sandbox:
        outcome = run(
            "post",
            "--base-url",
            sandbox.base_url,
            "--api-key",
            sandbox.api_key,
            "--text",
            "hi",
            "-p",
            "x",
            "-p",
            "bluesky",
        )
        published = sandbox.published()
    printed = outcome.stdout + outcome.stderr
    assert "\x1b" not in printed
    assert "\x07" not in printed
    assert "TITLE" not in printed
    # The text itself is kept: x's URL, and bluesky's failure and its code.
    assert [post.platform for post in published] == ["x"]
    assert published[0].url in outcome.stdout
    assert "platform_not_connected" in outcome.stdout


@pytest.mark.parametrize("good_key", [True, False])
def test_post_to_an_escaping_sandbox_through_the_environment(good_key: bool) -> None:
    """``post`` set up by env against ``--escape-sequences``: output kept, escapes dropped.

    ``post --sandbox`` starts its own sandbox without fault options, so a real
    one runs in a thread and the command finds it through its environment.
    """
    from socialwrite.sandbox import Faults, Sandbox, SandboxConfig

    config = SandboxConfig(faults=Faults(escape_sequences=True), not_connected={"bluesky"})
    with Sandbox(config).run_in_thread() as sandbox:
        env = {
            "SOCIALWRITE_BASE_URL": sandbox.base_url,
            "SOCIALWRITE_API_KEY": sandbox.api_key if good_key else KEY,
        }
        outcome = run("post", "--text", "hi", "-p", "x", "-p", "bluesky", env=env)
        published = sandbox.published()
    printed = outcome.stdout + outcome.stderr
    assert "\x1b" not in printed
    assert "\x07" not in printed
    assert "TITLE" not in printed
    assert KEY not in printed
    if good_key:
        assert [post.platform for post in published] == ["x"]
        assert published[0].url in outcome.stdout
        assert "platform_not_connected" in outcome.stdout
    else:
        assert published == []
        assert outcome.exit_code != 0
        # The server's message, less its escapes.
        assert "the API key is not valid" in outcome.stderr
