"""Post a chart from a plain script with the blocking client: no async code at all.

``socialwrite.Client`` runs the async client on an event loop of its own, in a
background thread, so it works in scripts, cron jobs and notebooks alike.
Point it at a server with the ``SOCIALWRITE_BASE_URL`` and
``SOCIALWRITE_API_KEY`` environment variables, for example a sandbox started
with ``socialwrite sandbox``::

    export SOCIALWRITE_BASE_URL=http://127.0.0.1:8787 SOCIALWRITE_API_KEY=sandbox
    python examples/blocking_script.py x instagram

Without ``SOCIALWRITE_BASE_URL`` it starts a sandbox of its own, in a thread.
The chart (``examples/media/chart.png``) is uploaded once, before the write,
and both platforms get its URL. It exits with 0 when every platform
published the post, 1 when any failed, 2 when the input was refused.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import socialwrite
from socialwrite.sandbox import Sandbox

CHART = Path(__file__).resolve().parent / "media" / "chart.png"
DEFAULT_PLATFORMS = ["x", "instagram"]


def post_chart(client: socialwrite.Client, platforms: list[str]) -> socialwrite.WriteResult:
    """Post today's chart to ``platforms`` and print one line per platform.

    Args:
        client: an open blocking client.
        platforms: the platform ids to post to.

    Returns:
        The write's result, one entry per platform in the order given.

    Raises:
        socialwrite.ValidationError: the input was refused; nothing was sent.
        socialwrite.MediaUploadError: the chart could not be uploaded; nothing was published.
        socialwrite.APIError: the write failed as a whole (after its retries).
    """
    result = client.write(
        platforms=platforms,
        content={
            "text": "Markets today 📈",
            "media": [CHART],
            "alt_text": "Line chart of the index, rising through the day",
        },
        options={"instagram": {"first_comment": "#markets #stocks"}}
        if "instagram" in platforms
        else None,
    )
    for item in result:
        outcome = item.url if item.success else f"failed: {item.error} ({item.error_code})"
        print(f"{item.platform:<10} {outcome}")
    print(f"credits used: {result.credits_used}  (idempotency key {result.idempotency_key})")
    return result


def main(argv: list[str]) -> int:
    """Post to the platforms named in ``argv`` (default: X and Instagram); return the exit code."""
    platforms = argv or DEFAULT_PLATFORMS
    try:
        with socialwrite.Client() as client:
            result = post_chart(client, platforms)
    except socialwrite.ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (socialwrite.APIError, socialwrite.MediaUploadError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0 if result.ok else 1


if __name__ == "__main__":
    if os.environ.get("SOCIALWRITE_BASE_URL"):
        sys.exit(main(sys.argv[1:]))
    with Sandbox().run_in_thread() as sandbox:
        os.environ["SOCIALWRITE_BASE_URL"] = sandbox.base_url
        os.environ["SOCIALWRITE_API_KEY"] = sandbox.api_key
        code = main(sys.argv[1:])
    sys.exit(code)
