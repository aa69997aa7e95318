"""The streamed events: status and result, matched to the write's platforms; error events."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._models import (
    PlatformResult,
)
from .._protocol import TYPE_STATUS
from ..events import PlatformStatus
from ._results import ResponseShapeError, structure_platform_result

if TYPE_CHECKING:
    pass


# A ``status`` or ``result`` event that cannot be matched to one of the write's
# platforms, or does not parse, is skipped (``None``), never an error: the
# ``done`` event repeats every result, and it decides. A stream is not lost to
# a server that numbers its platforms differently.


def event_index(data: Mapping[str, Any], platforms: tuple[str, ...]) -> int | None:
    """The write's index of the platform an event is about, or ``None`` when it is none of them.

    Its ``platform`` decides; ``index`` counts only when ``platform`` is absent
    (the protocol sends both: a server whose ``index`` disagrees is taken at
    its ``platform``).
    """
    platform = data.get("platform")
    index = data.get("index")
    if platform is None:
        if type(index) is int and 0 <= index < len(platforms):
            return index
        return None
    if type(index) is int and 0 <= index < len(platforms) and platforms[index] == platform:
        return index
    if isinstance(platform, str) and platform in platforms:
        return platforms.index(platform)
    return None


def decode_status_event(data: object, platforms: tuple[str, ...]) -> PlatformStatus | None:
    """Decode a ``status`` event's data for a write to ``platforms``; ``None`` to skip it.

    A ``progress`` that is not a finite number is taken as unknown (``None``).
    """
    if type(data) is not dict:
        return None
    index = event_index(data, platforms)
    state = data.get("state")
    if index is None or not isinstance(state, str):
        return None
    raw_progress = data.get("progress")
    progress: float | None = None
    if isinstance(raw_progress, (int, float, Decimal)) and not isinstance(raw_progress, bool):
        progress = float(raw_progress)
        if not math.isfinite(progress):
            progress = None
    return PlatformStatus(platform=platforms[index], index=index, state=state, progress=progress)


def decode_result_event(
    data: object, platforms: tuple[str, ...]
) -> tuple[int, PlatformResult] | None:
    """Decode a ``result`` event's data: its platform's index and result; ``None`` to skip it."""
    if type(data) is not dict:
        return None
    index = event_index(data, platforms)
    if index is None:
        return None
    if data.get("platform") != platforms[index]:
        data = {**data, "platform": platforms[index]}
    try:
        return index, structure_platform_result(data, "result")
    except ResponseShapeError:
        return None


def error_event_status(data: object) -> int:
    """The status an ``error`` event stands for, from its ``error.type`` (else 500)."""
    inner = data.get("error") if isinstance(data, dict) else None
    error_type = inner.get("type") if isinstance(inner, dict) else None
    return TYPE_STATUS.get(error_type, 500) if isinstance(error_type, str) else 500
