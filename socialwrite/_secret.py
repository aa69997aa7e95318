"""The API key, in an object that never shows it.

``repr``, ``str``, ``format`` and pickling of a ``Secret`` give ``Secret('***')``
or refuse, so a traceback's locals (``rich``'s ``show_locals=True``,
``traceback.TracebackException(capture_locals=True)``), a log line or a pickled
object holding one cannot carry the key. The key leaves it only through
``authorization()``, which the transports call inside their own send, and
through ``reveal()``/``encoded()`` for redaction.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Secret"]


class Secret:
    """Holds the API key; shows ``***`` wherever an object is printed.

    Example:
        >>> Secret("sk-123")
        Secret('***')
        >>> Secret("sk-123").authorization()
        'Bearer sk-123'
    """

    __slots__ = ("_bearer", "_encoded", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._encoded = value.encode()
        self._bearer = f"Bearer {value}"

    def authorization(self) -> str:
        """The ``Authorization`` header's value: ask for it only where a request is sent."""
        return self._bearer

    def reveal(self) -> str:
        """The key itself (to find and remove it in text)."""
        return self._value

    def encoded(self) -> bytes:
        """The key as bytes (to find and remove it in bytes)."""
        return self._encoded

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        msg = "a Secret (the API key) cannot be pickled"
        raise TypeError(msg)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self
