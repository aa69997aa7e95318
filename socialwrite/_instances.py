"""Frozen attrs instances built in one step, for the objects made on every write.

``__init__`` of a frozen attrs class sets each field through
``object.__setattr__``: a call per field. A class that keeps its fields in an
instance dict (``slots=False``) can instead be given the whole dict at once.
The classes built this way (``PlatformResult``, ``WriteResult``,
``transports.Request``) stay frozen; each has a typed builder beside it that
names every field, and a test that keeps the builder in step with the class.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["from_fields"]

T = TypeVar("T")

_new = object.__new__
_set = object.__setattr__


def from_fields(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of ``cls`` holding ``fields`` (every one of its fields), without ``__init__``."""
    instance: T = _new(cls)
    _set(instance, "__dict__", fields)
    return instance
