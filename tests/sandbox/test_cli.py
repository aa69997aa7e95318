"""``socialwrite sandbox``: serves until Ctrl-C, then exits 0; its options and fault options."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from socialwrite import cli
from socialwrite.cli import _sandbox
from socialwrite.cli._app import cli as command_line
from socialwrite.sandbox import FaultKind, Sandbox
from socialwrite.sandbox._faults_config import FAULT_OPTIONS

from ._support import SEED_BODY, WRITE


def run(*args: str) -> Result:
    """Run ``socialwrite ARGS`` in-process."""
    return CliRunner().invoke(command_line, list(args))


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Sandbox]:
    """Record the sandbox each run would serve, instead of serving it."""
    sandboxes: list[Sandbox] = []

    async def serve_once(sandbox: Sandbox) -> None:
        sandboxes.append(sandbox)

    monkeypatch.setattr(_sandbox, "serve", serve_once)
    return sandboxes


def test_serves_until_interrupted() -> None:
    """The command prints its URL and key, answers a write, and exits 0 on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, "-m", "socialwrite", "sandbox", "--port", "0", "--api-key", "k1"],
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


def test_defaults(started: list[Sandbox]) -> None:
    """Without options: loopback, port 8787, key 'sandbox', no faults."""
    result = run("sandbox")
    assert result.exit_code == 0, result.output
    (sandbox,) = started
    assert (sandbox._host, sandbox._port, sandbox.api_key) == ("127.0.0.1", 8787, "sandbox")
    assert not any(sandbox.faults.counted.values())
    assert not any(sandbox.faults.chaos.values())


def test_refuses_a_network_address_without_allow_remote(started: list[Sandbox]) -> None:
    """A non-loopback --host is bad usage (exit 2) unless --allow-remote is given."""
    result = run("sandbox", "--host", "192.0.2.10")
    assert result.exit_code == 2
    assert "--allow-remote" in result.stderr
    assert started == []
    assert run("sandbox", "--host", "192.0.2.10", "--allow-remote").exit_code == 0
    assert started[0]._host == "192.0.2.10"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "http"], "--port"),
        (["--api-key", "has space"], "--api-key"),
    ],
)
def test_bad_options_are_usage_errors(started: list[Sandbox], args: list[str], reason: str) -> None:
    """An impossible port or key exits 2 and names the option."""
    result = run("sandbox", *args)
    assert result.exit_code == 2
    assert reason in result.stderr
    assert started == []


def test_a_port_in_use_exits_1_with_one_line() -> None:
    """When the port cannot be bound, the command says so in one line and exits 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("sandbox", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"socialwrite sandbox: cannot listen on 127.0.0.1:{port}: ")
    assert result.stderr.count("\n") == 1


def test_a_command_is_required() -> None:
    """Without a command the usage is printed and the exit code is 2."""
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2


# -- fault options -----------------------------------------------------------------------------


def test_every_fault_option_of_the_sandbox_is_a_click_option() -> None:
    """Each declared fault option exists in the command, with its metavar and help."""
    sandbox_command = command_line.commands["sandbox"]
    options = {name: param for param in sandbox_command.params for name in param.opts}
    assert len(FAULT_OPTIONS) == len({option.name for option in FAULT_OPTIONS})
    for option in FAULT_OPTIONS:
        assert option.name in options, option.name
        param = options[option.name]
        assert isinstance(param, click.Option)
        assert param.name == option.dest
        assert param.metavar == option.metavar
        assert param.help == option.help
        assert param.multiple == option.repeatable
        assert param.is_flag == (option.parse is None)


def test_fault_options_build_faults(started: list[Sandbox]) -> None:
    """Every fault option lands in the Faults the sandbox is started with."""
    result = run(
        "sandbox",
        "--seed=4",
        "--fail-writes=3:429",
        "--retry-after=2.5",
        "--retry-after-date",
        "--slow-writes=1:0.25",
        "--drop-after-publish=2:1",
        "--truncate-streams=1",
        "--trickle-streams=0:0.1",
        "--malformed-answers=1",
        "--drop-puts=2:4096",
        "--chaos=0.4",
        "--chaos-kind=dropped_put=0.9",
        "--chaos-kind=slow_answer=0.01",
    )
    assert result.exit_code == 0, result.output
    (sandbox,) = started
    faults = sandbox.faults
    assert sandbox.config.seed == 4
    assert (faults.fail_writes, faults.fail_status, faults.retry_after) == (3, 429, 2.5)
    assert faults.retry_after_date
    assert (faults.slow_writes, faults.answer_delay) == (1, 0.25)
    assert (faults.drop_after_publish, faults.drop_after_events) == (2, 1)
    assert (faults.truncate_streams, faults.truncate_after_events) == (1, None)
    assert (faults.trickle_streams, faults.trickle_delay) == (0, 0.1)
    assert faults.malformed_answers == 1
    assert (faults.drop_puts, faults.drop_put_after) == (2, 4096)
    assert faults.seed == 4
    assert faults.chaos[FaultKind.SERVER_ERROR] == pytest.approx(0.05)
    assert faults.chaos[FaultKind.DROPPED_PUT] == 0.9
    assert faults.chaos[FaultKind.SLOW_ANSWER] == 0.01


def test_the_escape_sequences_flag_builds_faults(started: list[Sandbox]) -> None:
    """``--escape-sequences`` starts the sandbox with ``Faults(escape_sequences=True)``."""
    result = run("sandbox", "--escape-sequences")
    assert result.exit_code == 0, result.output
    (sandbox,) = started
    assert sandbox.faults.escape_sequences
    assert sandbox.config.faults.escape_sequences


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--fail-writes=3:404", "retryable statuses"),
        ("--fail-writes=x", "whole number"),
        ("--slow-writes=1:-1", "seconds"),
        ("--retry-after=soon", "--retry-after"),
        ("--seed=one", "--seed"),
        ("--chaos=2", "probability"),
        ("--chaos-kind=meteor=0.1", "not a fault kind"),
        ("--chaos-kind=server_error", "KIND=PROBABILITY"),
    ],
)
def test_bad_fault_options_are_usage_errors(
    started: list[Sandbox], option: str, message: str
) -> None:
    """A malformed fault option exits 2 and says what is wrong."""
    result = run("sandbox", option)
    assert result.exit_code == 2
    assert message in result.stderr
    assert started == []


def test_a_kind_of_chaos_wins_over_the_mix_in_any_order(started: list[Sandbox]) -> None:
    """--chaos-kind replaces its kind's share of --chaos, whichever comes first."""
    result = run("sandbox", "--chaos-kind=dropped_put=0.9", "--chaos=0.4")
    assert result.exit_code == 0, result.output
    chaos = started[0].faults.chaos
    assert chaos[FaultKind.DROPPED_PUT] == 0.9
    assert chaos[FaultKind.SERVER_ERROR] == pytest.approx(0.05)


def test_a_mix_over_one_is_a_usage_error(started: list[Sandbox]) -> None:
    """Write kinds whose chances add up past 1 are refused before serving."""
    result = run("sandbox", "--chaos=0.9", "--chaos-kind=server_error=0.5")
    assert result.exit_code == 2
    assert "add up to" in result.stderr
    assert started == []


def test_help_lists_the_fault_options_in_their_own_section() -> None:
    """--help shows the fault options under their heading, the kinds, and the examples."""
    result = run("sandbox", "--help")
    assert result.exit_code == 0
    shown = result.stdout
    options, faults = shown.split("\nFault injection:\n")
    assert "--host" in options
    assert "--seed" in options
    for option in ("--fail-writes", "--drop-after-publish", "--drop-puts", "--chaos-kind"):
        assert option in faults
        assert option not in options
    for kind in FaultKind:
        assert kind.value in faults
    assert "  socialwrite sandbox --fail-writes 3:429 --retry-after 2\n" in faults


def test_serves_with_faults_and_says_so() -> None:
    """The command prints the faults in force, and the first write gets one."""
    process = subprocess.Popen(
        [sys.executable, "-m", "socialwrite", "sandbox", "--port", "0", "--fail-writes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # A banner that never comes must fail the test, not hang it.
    watchdog = threading.Timer(30.0, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        match = re.search(r"(http://127\.0\.0\.1:\d+)", banner[0])
        assert match, banner
        assert "Fault: fail_writes: 1\n" in banner
        with httpx.Client(
            base_url=match.group(1), headers={"Authorization": "Bearer sandbox"}
        ) as h:
            assert h.post(WRITE, json=SEED_BODY).status_code == 503
            assert h.post(WRITE, json=SEED_BODY).status_code == 200
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=20)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
