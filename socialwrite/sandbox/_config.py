"""How one sandbox behaves: its API key, per-platform latency, what is connected.

A frozen value, so that a running sandbox's behaviour cannot change under a
test's feet; a test that wants other behaviour starts another sandbox. The one
exception is fault injection: ``faults`` is only the plan a sandbox starts
with, and ``Sandbox.set_faults`` changes it while it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import attrs

from .._protocol import IDEMPOTENCY_TTL_SECONDS, is_printable_ascii
from ._faults_config import Faults
from ._uploads_config import UploadConfig

__all__ = ["SandboxConfig"]


def _freeze_latency(value: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({str(platform): float(seconds) for platform, seconds in value.items()})


def _platform_set(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        msg = f"give a set of platform ids, not the string {value!r}"
        raise TypeError(msg)
    return frozenset(value)


def _check_latency(_instance: Any, _attribute: Any, value: Mapping[str, float]) -> None:
    for platform, seconds in value.items():
        if seconds < 0:
            msg = f"latency[{platform!r}] must be 0 or more seconds, got {seconds}"
            raise ValueError(msg)


def _check_positive(_instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be more than 0 seconds, got {value}"
        raise ValueError(msg)


def _check_api_key(_instance: Any, _attribute: Any, value: str) -> None:
    if not value or " " in value or not is_printable_ascii(value):
        msg = "api_key must be a non-empty string of printable ASCII characters without spaces"
        raise ValueError(msg)


def _to_credits(value: Decimal | float | str | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        msg = f"credits must be a number of credits or None, not {value!r}"
        raise TypeError(msg)
    # str() first, so that the float 0.03 is the decimal 0.03, not its binary neighbour.
    try:
        return Decimal(str(value))
    except InvalidOperation:
        msg = f"credits must be a number of credits or None, got {value!r}"
        raise ValueError(msg) from None


def _check_credits(_instance: Any, _attribute: Any, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        msg = f"credits must be a finite number of 0 or more, or None for no limit, got {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """The behaviour of a :class:`~socialwrite.sandbox.Sandbox`.

    Attributes:
        api_key: the only key the sandbox accepts (``Authorization: Bearer <api_key>``).
        latency: seconds each platform takes to publish, by platform id; platforms
            not listed take 0. Instagram, TikTok and YouTube spend it "processing"
            their media, with progress events.
        not_connected: platform ids whose account is not connected: they fail with
            ``platform_not_connected``.
        seed: the seed of the post ids: the same writes, in the same order, on a
            fresh sandbox with the same seed get the same ids and URLs.
        ping_interval: seconds of silence after which a stream gets a ``: ping``
            comment, so that proxies and clients keep it open.
        handle: the account name that appears in post URLs (``x.com/<handle>/...``).
        idempotency_ttl: seconds an ``Idempotency-Key`` is remembered (24 hours,
            as the protocol says; shorter only to test expiry).
        uploads: how media uploads behave (size limit, expiry, storage origin,
            injected faults).
        faults: the faults injected from the start (none by default); see
            :class:`~socialwrite.sandbox.Faults` and ``Sandbox.set_faults``.
        compat: answer the way real vendors and proxies do rather than exactly
            as protocol.md's server does, to try a client's tolerance: JSON
            only (``Accept: text/event-stream`` is ignored), results in the
            reverse order of ``platforms``, post ids made of digits sent as
            JSON numbers, flat error bodies (``{"error": "<code>", "message":
            "..."}``), and no upload endpoint (``POST /v1/media/uploads`` is a
            ``404``). Everything protocol.md lets a server do.
        credits: the account's balance, in the protocol's credits (0.0075 per
            platform that succeeds); ``None``, the default, never runs out. A
            write that the balance cannot cover (every platform succeeding) is
            refused with ``402 insufficient_credits``; replays are free.

    Example:
        ```python
        config = SandboxConfig(latency={"instagram": 1.0}, not_connected={"tiktok"})
        vendor_like = SandboxConfig(compat=True, credits="0.015")  # two posts, then 402
        ```
    """

    api_key: str = attrs.field(default="sandbox", validator=_check_api_key)
    latency: Mapping[str, float] = attrs.field(
        factory=dict, converter=_freeze_latency, validator=_check_latency
    )
    not_connected: frozenset[str] = attrs.field(default=frozenset(), converter=_platform_set)
    seed: int = 0
    ping_interval: float = attrs.field(default=15.0, validator=_check_positive)
    handle: str = "sandbox"
    idempotency_ttl: float = attrs.field(default=IDEMPOTENCY_TTL_SECONDS, validator=_check_positive)
    uploads: UploadConfig = attrs.field(factory=UploadConfig)
    faults: Faults = attrs.field(factory=Faults)
    compat: bool = False
    credits: Decimal | None = attrs.field(
        default=None, converter=_to_credits, validator=_check_credits
    )

    def latency_of(self, platform: str) -> float:
        """Return the seconds ``platform`` takes to publish (0 when not configured)."""
        return self.latency.get(platform, 0.0)
