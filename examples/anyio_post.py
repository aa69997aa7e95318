"""Two posts at once from an anyio program that runs on asyncio or on trio.

The same code runs on either event loop: pick one with ``--backend`` (trio
needs ``pip install "socialwrite[trio]"``). Both writes share one client and
run in one task group; each result is printed as soon as its platform resolves,
tagged with the write it belongs to. Point it at a server with the
``SOCIALWRITE_BASE_URL`` and ``SOCIALWRITE_API_KEY`` environment variables::

    export SOCIALWRITE_BASE_URL=http://127.0.0.1:8787 SOCIALWRITE_API_KEY=sandbox
    python examples/anyio_post.py --backend trio

Without ``SOCIALWRITE_BASE_URL`` it starts a sandbox of its own, in a thread.
It exits with 0 when every platform of both writes published, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio
import sniffio

import socialwrite
from socialwrite.sandbox import Sandbox, SandboxConfig

WRITES: dict[str, dict[str, Any]] = {
    "morning": {
        "platforms": ["x", "linkedin"],
        "content": {"text": "Good morning from anyio"},
    },
    "chart": {
        "platforms": ["bluesky", "instagram"],
        "content": {
            "text": "Today's chart",
            "media": "https://images.example.com/chart.jpg",
            "alt_text": "S&P 500 chart, up 2% today",
        },
    },
}


async def post_one(
    client: socialwrite.AsyncClient,
    name: str,
    write: dict[str, Any],
    results: dict[str, socialwrite.WriteResult],
) -> None:
    """Stream one write, printing each result as it arrives; keep its aggregate."""
    async with client.write(**write) as stream:
        async for result in stream:
            outcome = result.url if result.success else f"failed: {result.error}"
            print(f"[{name}] {result.platform:<10} {outcome}", flush=True)
    results[name] = stream.result


async def post_all(
    api_key: str | None = None, base_url: str | None = None
) -> dict[str, socialwrite.WriteResult]:
    """Run every write of ``WRITES`` concurrently on one client; return their aggregates.

    Args:
        api_key: the key; ``None`` reads ``SOCIALWRITE_API_KEY``.
        base_url: the service root; ``None`` reads ``SOCIALWRITE_BASE_URL``.
    """
    print(f"running on {sniffio.current_async_library()}", flush=True)
    results: dict[str, socialwrite.WriteResult] = {}
    async with (
        socialwrite.AsyncClient(api_key, base_url=base_url) as client,
        anyio.create_task_group() as task_group,
    ):
        for name, write in WRITES.items():
            task_group.start_soon(post_one, client, name, write, results)
    for name in WRITES:
        print(f"[{name}] credits used: {results[name].credits_used}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the writes on the chosen event loop."""
    parser = argparse.ArgumentParser(description="Post twice at once, on asyncio or trio.")
    parser.add_argument(
        "--backend",
        choices=["asyncio", "trio"],
        default="asyncio",
        help="the event loop to run on (default: asyncio)",
    )
    args = parser.parse_args(argv)
    if os.environ.get("SOCIALWRITE_BASE_URL"):
        results = anyio.run(post_all, backend=args.backend)
    else:
        config = SandboxConfig(latency={"x": 0.1, "instagram": 0.5})
        with Sandbox(config).run_in_thread() as sandbox:
            results = anyio.run(post_all, sandbox.api_key, sandbox.base_url, backend=args.backend)
    return 0 if all(result.ok for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
