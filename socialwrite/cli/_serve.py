"""The serving loop of ``socialwrite sandbox``: serve until SIGINT or SIGTERM, with a banner."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading

from ..sandbox import Faults, Sandbox, SandboxConfig

__all__ = ["describe_config", "describe_faults", "serve"]


def describe_faults(faults: Faults) -> list[str]:
    """Return one line per fault in force, for the banner (none: empty)."""
    lines = [f"{name}: {count}" for name, count in faults.counted.items() if count]
    chaos = [
        f"{kind.value}={probability:g}" for kind, probability in faults.chaos.items() if probability
    ]
    if chaos:
        lines.append(f"random faults (seed {faults.seed}): {', '.join(chaos)}")
    if faults.html_errors and (faults.fail_writes or chaos):
        lines.append("5xx answers are a proxy's HTML page")
    return lines


def describe_config(config: SandboxConfig) -> list[str]:
    """Return one line per setting of note (the vendor-compatible mode, credits), for the banner."""
    lines = []
    if config.compat:
        lines.append(
            "vendor-compatible (--compat): JSON only, results reordered, numeric post ids, "
            "flat errors, no uploads"
        )
    if config.credits is not None:
        lines.append(f"credits: {config.credits}")
    return lines


def _banner(sandbox: Sandbox) -> str:
    lines = [
        f"socialwrite sandbox serving at {sandbox.base_url}",
        f"API key: {sandbox.api_key}",
        f"  export SOCIALWRITE_BASE_URL={sandbox.base_url}",
        f"  export SOCIALWRITE_API_KEY={sandbox.api_key}",
        "Press Ctrl-C to stop.",
        *(f"Mode: {line}" for line in describe_config(sandbox.config)),
        *(f"Fault: {line}" for line in describe_faults(sandbox.faults)),
    ]
    return "".join(f"{line}\n" for line in lines)


async def serve(sandbox: Sandbox) -> None:
    """Serve ``sandbox`` on the running loop until SIGINT or SIGTERM, printing its banner.

    Raises:
        OSError: the sandbox cannot listen on its address.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    # Windows event loops take no signal handlers, and neither does a loop
    # outside the main thread: there Ctrl-C arrives as KeyboardInterrupt
    # instead, which the sandbox command turns into a clean exit too.
    if sys.platform != "win32" and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with sandbox:
            sys.stdout.write(_banner(sandbox))
            sys.stdout.flush()
            await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
