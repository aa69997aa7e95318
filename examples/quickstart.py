"""Post to X and Instagram against the embedded sandbox: no account needed.

Run it with ``python examples/quickstart.py``. It starts the local sandbox
server in-process on a free loopback port, posts once, and prints each
platform's result as it arrives, then the credits used.
"""

from __future__ import annotations

import asyncio

import socialwrite
from socialwrite.sandbox import Sandbox, SandboxConfig


async def main(base_url: str, api_key: str) -> socialwrite.WriteResult:
    """Post text and an image to two platforms, printing results as they resolve."""
    async with socialwrite.AsyncClient(api_key, base_url=base_url) as client:
        async with client.write(
            platforms=["x", "instagram"],
            content={
                "text": "Markets today 📈",
                "media": "https://images.example.com/chart.jpg",
                "alt_text": "S&P 500 chart, up 2% today",
            },
        ) as stream:
            async for result in stream:
                outcome = result.url if result.success else f"failed: {result.error}"
                print(f"{result.platform:<10} {outcome}")
        print(f"credits used: {stream.result.credits_used}")
        return stream.result


if __name__ == "__main__":
    config = SandboxConfig(latency={"x": 0.2, "instagram": 0.8})
    with Sandbox(config).run_in_thread() as sandbox:
        asyncio.run(main(sandbox.base_url, sandbox.api_key))
