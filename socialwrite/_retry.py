"""The retry policy: which failures to retry, and how long to wait first.

Pure on purpose. The client's retry loop does the sleeping and the I/O; this
module only answers "retry or not, after how long, and why", from an attempt
number, a status or an error, and the server's ``Retry-After``. Keeping the
decision free of clocks, sleeps and sockets makes every rule here testable
exactly (randomness and "now" can be passed in) and keeps the loop itself
short enough to check by eye.

The rules (protocol.md, and the project's reliability issue):

- Retry dropped connections and timeouts (`APIConnectionError`, which
  `APITimeoutError` subclasses), ``408``, ``429`` and every ``5xx``. Never
  another ``4xx``: the same request would fail the same way. Retrying a write
  is safe because every attempt re-sends the same ``Idempotency-Key``.
- Wait with exponential backoff and full jitter: a uniform random delay in
  ``[0, min(cap, base * 2**attempt))``. Full jitter spreads out clients that
  failed together, so they do not all come back at the same instant.
- When the server sends ``Retry-After``, wait exactly that long instead, but
  only up to ``max_retry_after``: a server asking for longer is answered by
  raising `RateLimitError` (with its ``retry_after``) so the caller can decide,
  rather than by a silent sleep of minutes.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import attrs

from ._errors import APIConnectionError

__all__ = ["RetryDecision", "RetryPolicy", "parse_retry_after"]

_RETRYABLE_4XX = frozenset({408, 429})
# 2.0 ** 1024 overflows a float; any exponent this large is past every cap anyway.
_MAX_EXPONENT = 1000


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header value as a number of seconds to wait.

    Accepts delay-seconds (``"120"``, and decimals such as ``"1.5"``, which
    some servers send) and HTTP-dates: the RFC 9110 IMF-fixdate
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``) and the obsolete forms that
    `email.utils.parsedate_to_datetime` understands (RFC 850, asctime).

    Args:
        value: the header value, or ``None`` when the header is absent.
        now: the current time, for HTTP-dates; defaults to the system clock.
            A naive datetime is taken as UTC, as HTTP dates always are.

    Returns:
        The seconds to wait, never negative (a negative number or a date in
        the past gives ``0.0``), or ``None`` when the header is absent, empty
        or not understood.

    Example:
        >>> parse_retry_after("2")
        2.0
        >>> now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc)
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now)
        30.0
        >>> parse_retry_after("soon") is None
        True
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds = _parse_delay_seconds(text)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        delay = (when - now).total_seconds()
    except OverflowError:
        return None
    return max(0.0, delay)


def _parse_delay_seconds(text: str) -> float | None:
    """Parse ``[-]digits[.digits]``; ``None`` if ``text`` is not such a number.

    Hand-rolled rather than ``float(text)`` because ``float`` also takes
    ``"inf"``, ``"nan"``, ``"1e3"``, ``"1_000"`` and non-ASCII digits, none of
    which a server means as a delay.
    """
    negative = text.startswith("-")
    number = text[1:] if negative else text
    whole, _, fraction = number.partition(".")
    if not (whole or fraction):
        return None
    for part in (whole, fraction):
        if part and not (part.isascii() and part.isdigit()):
            return None
    if negative:
        return 0.0
    return float(number)


@attrs.frozen(kw_only=True)
class RetryDecision:
    """What to do after a failed attempt.

    Args:
        retry: whether to try again.
        delay: seconds to wait before the next attempt; ``0.0`` when not retrying.
        reason: why, in words fit for a log line or an error message.
        retry_after_exceeded: ``True`` when the only reason not to retry is that
            ``Retry-After`` asked for longer than ``max_retry_after``; the caller
            then raises `RateLimitError` carrying that ``retry_after``.
    """

    retry: bool
    delay: float
    reason: str
    retry_after_exceeded: bool = False


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When to retry a failed request, and how long to wait first.

    One policy belongs to a client; `with_max_retries` derives the policy of
    a single call that overrides ``max_retries``.

    Args:
        max_retries: retries after the first attempt (``0`` never retries).
        backoff_base: the ceiling, in seconds, of the first retry's random delay.
        backoff_cap: the largest ceiling, in seconds, as the delays double.
        max_retry_after: the longest ``Retry-After``, in seconds, to sleep for;
            a longer one ends the retries.

    Raises:
        ValueError: a setting is negative (or NaN).

    Example:
        >>> policy = RetryPolicy()
        >>> decision = policy.decide(attempt=0, status=503, random=lambda: 0.5)
        >>> decision.retry, decision.delay, decision.reason
        (True, 0.25, 'status 503: retry 1 of 2 in 0.25 s')
        >>> policy.decide(attempt=0, status=404).retry
        False
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0.0))
    backoff_cap: float = attrs.field(default=8.0, validator=attrs.validators.ge(0.0))
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0.0))

    def with_max_retries(self, max_retries: int | None) -> RetryPolicy:
        """Return this policy with another ``max_retries``, for one call's override.

        Args:
            max_retries: the call's own limit, or ``None`` to keep this policy's.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        if max_retries is None or max_retries == self.max_retries:
            return self
        return attrs.evolve(self, max_retries=max_retries)

    def is_retryable_status(self, status: int) -> bool:
        """Tell whether an HTTP status is worth retrying: 408, 429 and every 5xx."""
        return status in _RETRYABLE_4XX or 500 <= status <= 599

    def is_retryable_error(self, error: BaseException) -> bool:
        """Tell whether an exception is worth retrying: only `APIConnectionError`.

        That covers its subclass `APITimeoutError`, but not one whose
        ``retryable`` is ``False`` (a TLS failure: a certificate that fails
        verification fails again). Anything else, including every
        `APIStatusError` (judged by its status instead) and every error of the
        caller's own, is not retried.
        """
        return isinstance(error, APIConnectionError) and error.retryable

    def backoff(self, attempt: int, *, random: Callable[[], float] = _random.random) -> float:
        """Return the jittered delay before retry number ``attempt`` (0 is the first retry).

        The delay is ``random() * min(backoff_cap, backoff_base * 2**attempt)``:
        full jitter over an exponentially growing, capped ceiling.

        Args:
            attempt: how many retries were made before this one.
            random: a source of floats in ``[0, 1)``; pass a fixed one in tests.

        Raises:
            ValueError: ``attempt`` is negative.
        """
        if attempt < 0:
            msg = f"attempt must be 0 or more, not {attempt}"
            raise ValueError(msg)
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempt, _MAX_EXPONENT))
        return random() * ceiling

    def decide(
        self,
        *,
        attempt: int,
        status: int | None = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
        random: Callable[[], float] = _random.random,
    ) -> RetryDecision:
        """Decide whether to retry after a failed attempt, and after how long.

        Pass exactly one of ``status`` (the attempt got an error answer) and
        ``error`` (it got no answer).

        Args:
            attempt: how many retries were made already (0 after the first try).
            status: the HTTP status of the error answer.
            error: the exception that ended the attempt.
            retry_after: the answer's ``Retry-After`` in seconds (see
                `parse_retry_after`), or ``None``. When given for a retryable
                failure it replaces the backoff.
            random: a source of floats in ``[0, 1)`` for the jitter.

        Returns:
            The decision. ``delay`` is within ``[0, backoff_cap]``, or equals
            ``retry_after`` when that is honoured.

        Raises:
            ValueError: ``attempt`` is negative, or not exactly one of
                ``status`` and ``error`` was given.
        """
        if attempt < 0:
            msg = f"attempt must be 0 or more, not {attempt}"
            raise ValueError(msg)
        if error is not None and status is None:
            failure = type(error).__name__
            retryable = self.is_retryable_error(error)
        elif status is not None and error is None:
            failure = f"status {status}"
            retryable = self.is_retryable_status(status)
        else:
            msg = "decide() needs exactly one of status= and error="
            raise ValueError(msg)

        if not retryable:
            return RetryDecision(retry=False, delay=0.0, reason=f"{failure} is not retryable")
        if attempt >= self.max_retries:
            return RetryDecision(
                retry=False,
                delay=0.0,
                reason=f"{failure}: giving up after {attempt} of {self.max_retries} retries",
            )
        if retry_after is not None and not math.isnan(retry_after):
            if retry_after > self.max_retry_after:
                return RetryDecision(
                    retry=False,
                    delay=0.0,
                    reason=(
                        f"{failure}: the server asked to wait {retry_after:g} s, longer than "
                        f"max_retry_after ({self.max_retry_after:g} s)"
                    ),
                    retry_after_exceeded=True,
                )
            delay = max(0.0, retry_after)
            return RetryDecision(
                retry=True,
                delay=delay,
                reason=(
                    f"{failure}: retry {attempt + 1} of {self.max_retries} in {delay:g} s, "
                    "as Retry-After asks"
                ),
            )
        delay = self.backoff(attempt, random=random)
        return RetryDecision(
            retry=True,
            delay=delay,
            reason=f"{failure}: retry {attempt + 1} of {self.max_retries} in {delay:.2f} s",
        )
