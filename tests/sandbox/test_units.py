"""The sandbox's pure parts, without a server: decimals, negotiation, keys, ids, config."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialwrite._protocol import CREDIT_PER_SUCCESS, render_decimal
from socialwrite.platforms import RULES
from socialwrite.sandbox import SandboxConfig
from socialwrite.sandbox._idempotency import IdempotencyStore
from socialwrite.sandbox._protocol import ProtocolError
from socialwrite.sandbox._publisher import identity_for, render_answer
from socialwrite.sandbox._runs import WriteRun
from socialwrite.sandbox._validation import fingerprint_of, last_event_id, wants_event_stream


@given(st.integers(min_value=0, max_value=20))
def test_credits_render_as_exact_json_numbers(successes: int) -> None:
    """n x 0.0075 is written exactly: parsing it as a decimal gives the exact product."""
    text = render_decimal(CREDIT_PER_SUCCESS * successes)
    assert Decimal(text) == Decimal("0.0075") * successes
    assert "e" not in text.lower()
    assert json.loads(text) == pytest.approx(0.0075 * successes)


def test_render_answer_writes_credits_exactly() -> None:
    """Two successes and a failure give ``"credits_used": 0.015`` in the text."""
    results: list[dict[str, Any]] = [{"success": True}, {"success": False}, {"success": True}]
    text = render_answer(results)
    assert text.endswith('"credits_used": 0.015}')
    assert json.loads(text)["results"] == results


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("", False),
        ("text/event-stream", True),
        ("TEXT/EVENT-STREAM", True),
        ("text/event-stream;q=0", False),
        ("application/json;q=0.4, text/event-stream;q=0.5", True),
        ("text/event-stream;q=0.3, */*;q=0.5", False),
        ("text/event-stream;q=bad", False),
        ("text/html", False),
    ],
)
def test_accept_negotiation(accept: str | None, expected: bool) -> None:
    """SSE is chosen only when asked for and not out-ranked by JSON."""
    assert wants_event_stream(accept) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, 0), ("7", 7), (" 12 ", 12), ("-3", 0), ("abc", 0), ("1_0", 0), ("", 0)],
)
def test_last_event_id_parsing(header: str | None, expected: int) -> None:
    """Last-Event-ID is a non-negative integer; anything else means from the start."""
    assert last_event_id(header) == expected


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_fingerprint_ignores_key_order(body: dict[str, Any]) -> None:
    """Bodies equal as JSON values have one fingerprint, whatever the key order."""
    assert fingerprint_of(dict(reversed(body.items()))) == fingerprint_of(body)


def test_fingerprints_of_different_bodies_differ() -> None:
    """A changed value changes the fingerprint."""
    assert fingerprint_of({"platforms": ["x"]}) != fingerprint_of({"platforms": ["x", "y"]})


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _finished_run(number: int) -> WriteRun:
    run = WriteRun(number=number, platforms=["x"])
    run.complete('{"results": [], "credits_used": 0}')
    return run


def test_store_replays_refuses_and_expires() -> None:
    """A key joins its write, refuses another body, and expires after its time to live."""
    clock = _Clock()
    store = IdempotencyStore(ttl=100.0, clock=clock)
    first = _finished_run(1)
    assert store.claim(account="a", key="k", fingerprint="f", start=lambda: first) == (
        first,
        False,
    )
    clock.now = 99.0
    assert store.claim(account="a", key="k", fingerprint="f", start=lambda: _finished_run(2)) == (
        first,
        True,
    )
    with pytest.raises(ProtocolError) as caught:
        store.claim(account="a", key="k", fingerprint="other", start=lambda: _finished_run(3))
    assert (caught.value.status, caught.value.code) == (422, "idempotency_key_reused")
    other_account = _finished_run(4)
    assert store.claim(account="b", key="k", fingerprint="f", start=lambda: other_account) == (
        other_account,
        False,
    )
    clock.now = 100.0
    later = _finished_run(5)
    assert store.claim(account="a", key="k", fingerprint="other", start=lambda: later) == (
        later,
        False,
    )


def test_store_keeps_a_running_write_past_its_time_to_live() -> None:
    """A write still running keeps its key even after the time to live."""
    clock = _Clock()
    store = IdempotencyStore(ttl=1.0, clock=clock)
    running = WriteRun(number=1, platforms=["x"])
    store.claim(account="a", key="k", fingerprint="f", start=lambda: running)
    clock.now = 10.0
    assert store.claim(account="a", key="k", fingerprint="f", start=lambda: running) == (
        running,
        True,
    )


@pytest.mark.parametrize("platform", sorted(RULES))
def test_identities_depend_on_seed_and_write_only(platform: str) -> None:
    """The same seed and write number give the same id; another seed or write another id."""

    def identity(seed: int, write_number: int) -> tuple[str, str]:
        found = identity_for(
            platform, seed=seed, write_number=write_number, handle="sandbox", options={}
        )
        return found.post_id, found.url

    assert identity(1, 1) == identity(1, 1)
    assert identity(1, 1) != identity(2, 1)
    assert identity(1, 1) != identity(1, 2)


def test_a_finished_run_records_nothing_more() -> None:
    """After done, a run refuses further events instead of sending them after the end."""
    run = _finished_run(1)
    with pytest.raises(RuntimeError, match="already finished"):
        run.emit("status", {})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "has space"}, "api_key"),
        ({"latency": {"x": -1.0}}, "latency"),
        ({"ping_interval": 0.0}, "ping_interval"),
        ({"idempotency_ttl": -5.0}, "idempotency_ttl"),
    ],
)
def test_config_rejects_bad_values(changes: dict[str, Any], message: str) -> None:
    """SandboxConfig names the bad field."""
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**changes)


def test_config_takes_any_iterable_of_platforms_but_not_a_string() -> None:
    """not_connected accepts a set or list, and refuses a bare string."""
    assert SandboxConfig(not_connected={"x"}).not_connected == frozenset({"x"})
    with pytest.raises(TypeError, match="set of platform ids"):
        SandboxConfig(not_connected="tiktok")
