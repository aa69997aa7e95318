"""A long-running asyncio bot: posts from a queue through one shared client, stops cleanly.

A feed puts posts on an ``asyncio.Queue``; a few workers take them one by one
and post each through the same ``AsyncClient`` (one connection pool, shared
safely by every task). On SIGINT or SIGTERM, or after ``--max-posts``, the bot
takes no new post, finishes the ones already queued, closes the client, and
exits 0: nothing is cut off half-posted.

The feed here is a ticker that makes a market update every ``--interval``
seconds; put your own source in its place (a webhook, a message queue, a
database table). Give each post an idempotency key derived from the item it
comes from: a post retried after a crash or a restart is then never
published twice.

Point it at a server with ``SOCIALWRITE_BASE_URL`` and ``SOCIALWRITE_API_KEY``,
for example a sandbox started with ``socialwrite sandbox``::

    export SOCIALWRITE_BASE_URL=http://127.0.0.1:8787 SOCIALWRITE_API_KEY=sandbox
    python examples/queue_bot.py -p x -p bluesky --interval 5     # Ctrl-C to stop

Without ``SOCIALWRITE_BASE_URL`` it starts a sandbox of its own, in a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import socialwrite
from socialwrite.sandbox import Sandbox


@dataclass(frozen=True)
class Post:
    """One post waiting in the queue."""

    key: str
    """The idempotency key: the same item, posted again, publishes nothing new."""
    text: str
    platforms: tuple[str, ...]


@dataclass
class Tally:
    """What the bot did, for its last line."""

    posts: int = 0
    published: int = 0
    failed: int = 0
    credits_used: Decimal = field(default_factory=Decimal)


class Bot:
    """Workers that post what the queue holds, all through one client."""

    def __init__(self, client: socialwrite.AsyncClient, *, workers: int = 2) -> None:
        """Prepare ``workers`` workers posting through ``client``."""
        self.client = client
        # Bounded, so a feed faster than the platforms waits instead of
        # piling up posts in memory.
        self.queue: asyncio.Queue[Post] = asyncio.Queue(maxsize=100)
        self.tally = Tally()
        self._workers = workers

    async def run(self, feed: AsyncIterator[Post]) -> Tally:
        """Post everything ``feed`` yields; when it ends, finish the queue and return."""
        tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]
        try:
            async for post in feed:
                await self.queue.put(post)
            await self.queue.join()  # every queued post is done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self.tally

    async def _work(self) -> None:
        while True:
            post = await self.queue.get()
            try:
                await self._post(post)
            finally:
                self.queue.task_done()

    async def _post(self, post: Post) -> None:
        self.tally.posts += 1
        try:
            result = await self.client.write(
                platforms=list(post.platforms),
                content={"text": post.text},
                idempotency_key=post.key,
            )
        except (socialwrite.APIError, socialwrite.ValidationError) as exc:
            # One bad post must not stop the bot; a real one would store the
            # post to try again later, with the same key.
            self.tally.failed += len(post.platforms)
            print(f"[{post.key}] not posted: {type(exc).__name__}: {exc}", flush=True)
            return
        self.tally.credits_used += result.credits_used
        for item in result:
            if item.success:
                self.tally.published += 1
                print(f"[{post.key}] {item.platform} {item.url}", flush=True)
            else:
                self.tally.failed += 1
                print(f"[{post.key}] {item.platform} failed: {item.error}", flush=True)


async def ticker(
    stop: asyncio.Event, platforms: Sequence[str], *, interval: float, max_posts: int | None
) -> AsyncIterator[Post]:
    """Yield a market update every ``interval`` seconds until ``stop`` is set."""
    run = uuid.uuid4().hex[:8]
    number = 0
    while not stop.is_set() and (max_posts is None or number < max_posts):
        number += 1
        yield Post(
            key=f"update-{run}-{number}",
            text=f"Market update #{number} 📈",
            platforms=tuple(platforms),
        )
        # Waits for the next tick, or wakes at once when asked to stop.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def main(platforms: Sequence[str], *, interval: float, max_posts: int | None) -> Tally:
    """Run the bot until a signal, or until ``max_posts`` posts were made."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows loops take no signal handlers: there Ctrl-C stops the bot at once.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with socialwrite.AsyncClient() as client:
        bot = Bot(client)
        feed = ticker(stop, platforms, interval=interval, max_posts=max_posts)
        tally = await bot.run(feed)
    print(
        f"stopped: {tally.posts} posts, {tally.published} published, {tally.failed} failed, "
        f"credits used {tally.credits_used}",
        flush=True,
    )
    return tally


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The bot's options."""
    parser = argparse.ArgumentParser(description="Post market updates until stopped.")
    parser.add_argument(
        "-p",
        "--platform",
        dest="platforms",
        action="append",
        help="a platform to post to (repeatable; default: x and bluesky)",
    )
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between updates (default: 5)"
    )
    parser.add_argument("--max-posts", type=int, help="stop after this many updates")
    return parser.parse_args(argv)


def run(argv: Sequence[str]) -> int:
    """Run the bot with command-line arguments; return the exit code."""
    args = parse_args(argv)
    platforms = args.platforms or ["x", "bluesky"]
    asyncio.run(main(platforms, interval=args.interval, max_posts=args.max_posts))
    return 0


if __name__ == "__main__":
    if os.environ.get("SOCIALWRITE_BASE_URL"):
        sys.exit(run(sys.argv[1:]))
    with Sandbox().run_in_thread() as sandbox:
        os.environ["SOCIALWRITE_BASE_URL"] = sandbox.base_url
        os.environ["SOCIALWRITE_API_KEY"] = sandbox.api_key
        code = run(sys.argv[1:])
    sys.exit(code)
