"""``socialwrite sandbox``: serves until Ctrl-C, then exits 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from socialwrite.cli import main

from ._support import SEED_BODY, WRITE


def test_serves_until_interrupted() -> None:
    """The command prints its URL and key, answers a write, and exits 0 on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, "-m", "socialwrite.cli", "sandbox", "--port", "0", "--api-key", "k1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", banner)
        assert match, banner
        base_url = match.group(1)
        assert "API key: k1" in process.stdout.readline()
        response = httpx.post(
            base_url + WRITE, json=SEED_BODY, headers={"Authorization": "Bearer k1"}, timeout=10
        )
        assert response.status_code == 200
        assert [result["success"] for result in response.json()["results"]] == [True, True]
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped" in stdout


def test_refuses_a_network_address_without_allow_remote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A non-loopback --host is bad usage (exit 2) unless --allow-remote is given."""
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "--host", "192.0.2.10"])
    assert exited.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the usage is printed and the exit code is 2."""
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
