"""Post from a trio program, printing each platform's result as soon as it resolves.

Needs ``pip install "socialwrite[trio]"``. Point it at a server with the
``SOCIALWRITE_BASE_URL`` and ``SOCIALWRITE_API_KEY`` environment variables, for
example a sandbox started with ``socialwrite sandbox``::

    export SOCIALWRITE_BASE_URL=http://127.0.0.1:8787 SOCIALWRITE_API_KEY=sandbox
    python examples/trio_post.py

Without ``SOCIALWRITE_BASE_URL`` it starts a sandbox of its own, in a thread.
It exits with 0 when every platform published the post, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import trio

import socialwrite
from socialwrite.sandbox import Sandbox, SandboxConfig

PLATFORMS = ["x", "bluesky", "instagram"]
CONTENT: dict[str, Any] = {
    "text": "Markets today 📈 posted from trio",
    "media": "https://images.example.com/chart.jpg",
    "alt_text": "S&P 500 chart, up 2% today",
}


async def post(api_key: str | None = None, base_url: str | None = None) -> socialwrite.WriteResult:
    """Post once; print each result as it arrives, then the credits used.

    Args:
        api_key: the key; ``None`` reads ``SOCIALWRITE_API_KEY``.
        base_url: the service root; ``None`` reads ``SOCIALWRITE_BASE_URL``.
    """
    async with socialwrite.AsyncClient(api_key, base_url=base_url) as client:
        async with client.write(platforms=PLATFORMS, content=CONTENT) as stream:
            # Results come in the order the platforms finish, not the order asked.
            async for result in stream:
                outcome = result.url if result.success else f"failed: {result.error}"
                print(f"{result.platform:<10} {outcome}", flush=True)
        print(f"credits used: {stream.result.credits_used}")
        return stream.result


def main() -> int:
    """Run the post under trio, against the configured server or a sandbox of its own."""
    if os.environ.get("SOCIALWRITE_BASE_URL"):
        result = trio.run(post)
    else:
        config = SandboxConfig(latency={"x": 0.1, "instagram": 0.5})
        with Sandbox(config).run_in_thread() as sandbox:
            result = trio.run(post, sandbox.api_key, sandbox.base_url)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
