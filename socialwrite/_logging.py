"""The ``socialwrite`` logger, and the redaction every log line goes through.

Log lines name the request (method and URL), the status, retries and timings.
They never carry the API key (headers are never logged) nor a token in a URL:
query strings are logged with their values replaced, since a storage host's
``upload_url`` carries its authorization there.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["logger", "redact_url"]

logger = logging.getLogger("socialwrite")
# A library prints nothing on its own: without a handler of the application's,
# Python's last resort would print every WARNING to stderr.
logger.addHandler(logging.NullHandler())


def redact_url(url: str) -> str:
    """Return ``url`` with any credentials and every query value replaced by ``***``.

    Example:
        >>> redact_url("https://store.example/u/1?sig=abc&exp=9")
        'https://store.example/u/1?sig=%2A%2A%2A&exp=%2A%2A%2A'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        query = urlencode([(name, "***") for name, _ in parse_qsl(query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
