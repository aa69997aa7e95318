"""The account's credits: what writes may still spend, and the ``402`` when they run out.

A sandbox has unlimited credits unless ``SandboxConfig.credits`` gives a
balance. Then each new write sets aside what it may cost at most (every
platform succeeding, protocol.md's price each) before it starts, and gives
back what it did not spend when it finishes: concurrent writes can never
overdraw the account, and a write the balance cannot cover is refused with
``402 insufficient_credits`` before anything is published. Replays of an
``Idempotency-Key`` are free: they publish nothing.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from .._protocol import CREDIT_PER_SUCCESS, render_decimal
from ._protocol import ProtocolError

__all__ = ["CreditBalance"]


class CreditBalance:
    """An account's credit balance; ``None`` is unlimited. Thread-safe.

    Args:
        balance: the credits to start with, or ``None`` for no limit.
    """

    def __init__(self, balance: Decimal | None) -> None:
        self._lock = threading.Lock()
        self._left = balance

    @property
    def left(self) -> Decimal | None:
        """The credits not spent nor set aside (``None``: unlimited)."""
        with self._lock:
            return self._left

    def reserve(self, platforms: int) -> Decimal:
        """Set aside what a write to ``platforms`` platforms may cost at most, and return it.

        Raises:
            ProtocolError: ``402 insufficient_credits`` when the balance cannot cover it.
        """
        cost = CREDIT_PER_SUCCESS * platforms
        with self._lock:
            if self._left is None:
                return Decimal(0)
            if self._left < cost:
                left = self._left
            else:
                self._left -= cost
                return cost
        # No "sandbox" in the text: it is the default API key, which clients
        # rightly redact from every message.
        message = (
            f"the account has {render_decimal(left)} credits left, and this write may cost up "
            f"to {render_decimal(cost)} ({render_decimal(CREDIT_PER_SUCCESS)} per platform that "
            "succeeds); nothing was published: add credits, then write again"
        )
        raise ProtocolError(402, "insufficient_credits", message)

    def settle(self, reserved: Decimal, used: Decimal) -> None:
        """Give back what a finished write set aside (``reserved``) but did not spend (``used``)."""
        with self._lock:
            if self._left is not None:
                self._left += max(reserved - used, Decimal(0))
