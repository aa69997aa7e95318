"""Tests of the pure retry policy."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialwrite import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    ValidationError,
)
from socialwrite._retry import RetryDecision, RetryPolicy, parse_retry_after

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


# --- which failures are retried ---------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 501, 502, 503, 504, 505, 520, 599])
def test_retryable_statuses(status: int) -> None:
    """408, 429 and every 5xx are retried."""
    assert RetryPolicy().is_retryable_status(status)
    assert RetryPolicy().decide(attempt=0, status=status, random=lambda: 0.0).retry


@pytest.mark.parametrize(
    "status", [200, 201, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 451, 499, 600]
)
def test_statuses_never_retried(status: int) -> None:
    """Other 4xx (and anything that is not an error status) are not retried."""
    assert not RetryPolicy().is_retryable_status(status)
    decision = RetryPolicy().decide(attempt=0, status=status)
    assert decision == RetryDecision(
        retry=False, delay=0.0, reason=f"status {status} is not retryable"
    )


@pytest.mark.parametrize(
    "error",
    [APIConnectionError("connection reset"), APITimeoutError("read timed out")],
    ids=lambda error: type(error).__name__,
)
def test_connection_errors_and_timeouts_are_retried(error: BaseException) -> None:
    """Dropped connections and timeouts are retried."""
    assert RetryPolicy().is_retryable_error(error)
    decision = RetryPolicy().decide(attempt=0, error=error, random=lambda: 0.5)
    assert decision.retry
    assert decision.delay == 0.25
    assert type(error).__name__ in decision.reason


@pytest.mark.parametrize(
    "error",
    [
        APIStatusError("boom", status_code=500),
        InternalServerError("boom", status_code=503),
        RateLimitError("slow down", status_code=429, retry_after=1.0),
        ValidationError("bad input"),
        TimeoutError("a bare timeout"),
        ConnectionResetError("a bare socket error"),
        ValueError("a bug"),
        asyncio.CancelledError(),
        KeyboardInterrupt(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_other_errors_are_not_retried(error: BaseException) -> None:
    """Only the SDK's connection errors are retried; nothing else, not even status errors."""
    assert not RetryPolicy().is_retryable_error(error)
    decision = RetryPolicy().decide(attempt=0, error=error)
    assert not decision.retry
    assert decision.reason == f"{type(error).__name__} is not retryable"


# --- attempts ---------------------------------------------------------------


def test_retries_stop_after_max_retries() -> None:
    """With the default of two retries, the third failure gives up."""
    policy = RetryPolicy()
    assert policy.decide(attempt=0, status=503).retry
    assert policy.decide(attempt=1, status=503).retry
    decision = policy.decide(attempt=2, status=503)
    assert decision == RetryDecision(
        retry=False, delay=0.0, reason="status 503: giving up after 2 of 2 retries"
    )


def test_zero_max_retries_never_retries() -> None:
    """``max_retries=0`` makes one attempt only."""
    policy = RetryPolicy(max_retries=0)
    assert not policy.decide(attempt=0, error=APITimeoutError("slow")).retry


def test_exhausted_wins_over_retry_after() -> None:
    """Out of retries, a Retry-After under the cap does not bring one back."""
    decision = RetryPolicy(max_retries=1).decide(attempt=1, status=429, retry_after=1.0)
    assert not decision.retry
    assert not decision.retry_after_exceeded


def test_with_max_retries_overrides_for_one_call() -> None:
    """A call's own ``max_retries`` replaces the client's; ``None`` keeps it."""
    policy = RetryPolicy(max_retries=2, backoff_cap=3.0)
    assert policy.with_max_retries(None) is policy
    assert policy.with_max_retries(2) is policy
    assert policy.with_max_retries(5) == RetryPolicy(max_retries=5, backoff_cap=3.0)
    assert policy.with_max_retries(5).decide(attempt=4, status=500).retry
    assert not policy.with_max_retries(0).decide(attempt=0, status=500).retry


def test_with_max_retries_rejects_negative() -> None:
    """A negative per-call override is refused."""
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy().with_max_retries(-1)


@pytest.mark.parametrize(
    "setting", ["max_retries", "backoff_base", "backoff_cap", "max_retry_after"]
)
@pytest.mark.parametrize("value", [-1, math.nan])
def test_policy_rejects_negative_or_nan_settings(setting: str, value: float) -> None:
    """Every setting must be zero or more."""
    settings: dict[str, Any] = {setting: value}
    with pytest.raises(ValueError, match=setting):
        RetryPolicy(**settings)


def test_policy_defaults() -> None:
    """The defaults are the documented ones."""
    assert attrs.asdict(RetryPolicy()) == {
        "max_retries": 2,
        "backoff_base": 0.5,
        "backoff_cap": 8.0,
        "max_retry_after": 60.0,
    }


def test_policy_is_frozen() -> None:
    """A client's policy cannot be changed behind its back."""
    policy = RetryPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_retries = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"status": 500, "error": APIConnectionError("x")}],
    ids=["neither", "both"],
)
def test_decide_needs_exactly_one_of_status_and_error(kwargs: dict[str, object]) -> None:
    """Passing neither or both of ``status`` and ``error`` is a programming error."""
    with pytest.raises(ValueError, match="exactly one"):
        RetryPolicy().decide(attempt=0, **kwargs)  # type: ignore[arg-type]


def test_negative_attempt_is_refused() -> None:
    """Attempts count from zero."""
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().decide(attempt=-1, status=500)
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().backoff(-1)


# --- backoff ----------------------------------------------------------------


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    """With the largest draw the delay is the ceiling: 0.5, 1, 2, 4, 8, then 8."""
    policy = RetryPolicy()
    delays = [policy.backoff(attempt, random=lambda: 1.0) for attempt in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_is_full_jitter() -> None:
    """The delay is the draw times the ceiling, from zero up."""
    policy = RetryPolicy()
    assert policy.backoff(0, random=lambda: 0.0) == 0.0
    assert policy.backoff(2, random=lambda: 0.25) == 0.5
    assert policy.backoff(10, random=lambda: 0.5) == 4.0


def test_backoff_follows_custom_settings() -> None:
    """Base and cap are the policy's own."""
    policy = RetryPolicy(backoff_base=0.1, backoff_cap=0.3)
    assert [policy.backoff(n, random=lambda: 1.0) for n in range(3)] == [0.1, 0.2, 0.3]


def test_backoff_of_a_huge_attempt_is_the_cap() -> None:
    """A very large attempt number neither overflows nor exceeds the cap."""
    assert RetryPolicy().backoff(100_000, random=lambda: 1.0) == 8.0


def test_decide_uses_the_backoff() -> None:
    """Without Retry-After the decision waits the jittered backoff of this attempt."""
    decision = RetryPolicy(max_retries=5).decide(attempt=3, status=502, random=lambda: 0.5)
    assert decision == RetryDecision(
        retry=True, delay=2.0, reason="status 502: retry 4 of 5 in 2.00 s"
    )


@given(attempt=st.integers(min_value=0, max_value=2000))
def test_backoff_with_the_real_random_stays_in_bounds(attempt: int) -> None:
    """The default random source keeps the delay within its ceiling."""
    ceiling = 0.5 * 2**attempt if attempt < 4 else 8.0
    assert 0.0 <= RetryPolicy().backoff(attempt) <= ceiling


# --- Retry-After parsing ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("0.25", 0.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("  7\t", 7.0),
        ("007", 7.0),
        ("-5", 0.0),
        ("-0.5", 0.0),
    ],
)
def test_retry_after_seconds(value: str, seconds: float) -> None:
    """Integer and decimal seconds are read; a negative number means no wait."""
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "soon",
        "-",
        ".",
        "1.2.3",
        "+5",
        "1e3",
        "inf",
        "nan",
        "-inf",
        "0x10",
        "1_000",
        "5 s",
        "١٢",
        "--5",
        "Sun, 06 Nov 1994",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +9999",
    ],
)
def test_retry_after_garbage_is_none(value: str | None) -> None:
    """An absent, empty or unreadable header gives ``None``."""
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 21 Oct 2015 07:28:30 GMT",
        "Wednesday, 21-Oct-15 07:28:30 GMT",
        "Wed Oct 21 07:28:30 2015",
        "Wed, 21 Oct 2015 09:28:30 +0200",
        "21 Oct 2015 07:28:30 -0000",
    ],
    ids=["imf-fixdate", "rfc850", "asctime", "offset", "no-weekday"],
)
def test_retry_after_http_date(value: str) -> None:
    """Every HTTP-date form gives the seconds from ``now`` until then."""
    assert parse_retry_after(value, now=NOW) == 30.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    """A date already gone means retry at once."""
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=NOW) == 0.0


def test_retry_after_naive_now_is_utc() -> None:
    """A naive ``now`` is read as UTC."""
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now=naive) == 60.0


def test_retry_after_now_in_another_zone() -> None:
    """An aware ``now`` in any zone gives the same delay."""
    now = NOW.astimezone(timezone(timedelta(hours=-7)))
    assert parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now=now) == 60.0


def test_retry_after_date_uses_the_clock_by_default() -> None:
    """Without ``now`` the system clock is used: the far future is far, the past is zero."""
    far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT")
    assert far is not None
    assert far > 1e9
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@given(seconds=st.integers(min_value=0, max_value=10**9))
def test_retry_after_integer_round_trip(seconds: int) -> None:
    """Any non-negative integer header reads back as that many seconds."""
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(
    now=st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(9000, 1, 1),
        timezones=st.just(timezone.utc),
    ),
    seconds=st.integers(min_value=0, max_value=10**8),
)
def test_retry_after_http_date_round_trip(now: datetime, seconds: int) -> None:
    """An IMF-fixdate some whole seconds after ``now`` reads back as that delay."""
    now = now.replace(microsecond=0)
    header = format_datetime(now + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(header, now=now) == float(seconds)


@given(value=st.text())
def test_retry_after_never_raises(value: str) -> None:
    """Any text gives ``None`` or a non-negative delay, never an exception."""
    result = parse_retry_after(value, now=NOW)
    assert result is None or result >= 0.0


# --- Retry-After in decisions -----------------------------------------------


def test_retry_after_replaces_the_backoff() -> None:
    """An honoured Retry-After is the delay, exactly, whatever the jitter draw."""
    decision = RetryPolicy().decide(attempt=0, status=429, retry_after=12.5, random=lambda: 0.9)
    assert decision == RetryDecision(
        retry=True, delay=12.5, reason="status 429: retry 1 of 2 in 12.5 s, as Retry-After asks"
    )


def test_retry_after_above_the_backoff_cap_is_still_honoured() -> None:
    """The backoff cap bounds our own delays, not the server's request."""
    assert RetryPolicy().decide(attempt=0, status=503, retry_after=30.0).delay == 30.0


def test_retry_after_at_the_cap_is_honoured() -> None:
    """A Retry-After equal to ``max_retry_after`` is still slept."""
    decision = RetryPolicy().decide(attempt=0, status=429, retry_after=60.0)
    assert decision.retry
    assert decision.delay == 60.0


def test_retry_after_over_the_cap_refuses() -> None:
    """A Retry-After over ``max_retry_after`` ends the retries and says so."""
    decision = RetryPolicy(max_retry_after=10).decide(attempt=0, status=429, retry_after=90.0)
    assert decision.retry is False
    assert decision.retry_after_exceeded is True
    assert decision.delay == 0.0
    assert "90 s" in decision.reason
    assert "max_retry_after (10 s)" in decision.reason


def test_retry_after_of_infinity_refuses() -> None:
    """An absurdly long Retry-After is over any cap."""
    assert RetryPolicy().decide(attempt=0, status=429, retry_after=math.inf).retry_after_exceeded


def test_retry_after_zero_retries_at_once() -> None:
    """``Retry-After: 0`` retries without waiting."""
    decision = RetryPolicy().decide(attempt=0, status=503, retry_after=0.0, random=lambda: 0.9)
    assert decision.retry
    assert decision.delay == 0.0


def test_negative_retry_after_means_no_wait() -> None:
    """A negative Retry-After passed in directly is treated as zero."""
    assert RetryPolicy().decide(attempt=0, status=503, retry_after=-3.0).delay == 0.0


def test_nan_retry_after_falls_back_to_backoff() -> None:
    """A NaN Retry-After is ignored in favour of the backoff."""
    decision = RetryPolicy().decide(attempt=1, status=503, retry_after=math.nan, random=lambda: 1.0)
    assert decision.delay == 1.0


def test_retry_after_does_not_make_a_4xx_retryable() -> None:
    """Retry-After on a status that is never retried changes nothing."""
    decision = RetryPolicy().decide(attempt=0, status=403, retry_after=500.0)
    assert not decision.retry
    assert not decision.retry_after_exceeded


# --- properties -------------------------------------------------------------

_policies = st.builds(
    RetryPolicy,
    max_retries=st.integers(min_value=0, max_value=10),
    backoff_base=st.floats(min_value=0.0, max_value=100.0),
    backoff_cap=st.floats(min_value=0.0, max_value=100.0),
    max_retry_after=st.floats(min_value=0.0, max_value=1000.0),
)
_failures = st.one_of(
    st.tuples(st.integers(min_value=100, max_value=599), st.none()),
    st.tuples(
        st.none(),
        st.sampled_from([APIConnectionError("reset"), APITimeoutError("slow"), ValueError("bug")]),
    ),
)


@given(
    policy=_policies,
    attempt=st.integers(min_value=0, max_value=50),
    failure=_failures,
    retry_after=st.one_of(st.none(), st.floats(min_value=-10.0, max_value=2000.0)),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_delay_is_within_the_cap_or_the_honoured_retry_after(
    policy: RetryPolicy,
    attempt: int,
    failure: tuple[int | None, BaseException | None],
    retry_after: float | None,
    draw: float,
) -> None:
    """A retry waits within [0, backoff_cap], or exactly the Retry-After it honours."""
    status, error = failure
    decision = policy.decide(
        attempt=attempt, status=status, error=error, retry_after=retry_after, random=lambda: draw
    )
    retryable = (
        isinstance(error, APIConnectionError)
        if status is None
        else status in (408, 429) or status >= 500
    )
    may_retry = retryable and attempt < policy.max_retries
    too_long = retry_after is not None and retry_after > policy.max_retry_after
    assert decision.retry == (may_retry and not too_long)
    assert decision.retry_after_exceeded == (may_retry and too_long)
    if not decision.retry:
        assert decision.delay == 0.0
    elif retry_after is None:
        assert 0.0 <= decision.delay <= policy.backoff_cap
    else:
        assert decision.delay == max(0.0, retry_after)
        assert decision.delay <= policy.max_retry_after
