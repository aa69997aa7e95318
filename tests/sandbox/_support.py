"""Shared helpers of the sandbox tests: a served sandbox with a client, and an SSE reader.

The reader here is deliberately tiny and separate from the SDK's decoder, so
that these tests check the server against an independent reading of the
stream.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs

from socialwrite.sandbox import Sandbox, SandboxConfig

API_KEY = "sandbox"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
STREAM = {"Accept": "text/event-stream"}
WRITE = "/v1/social/write"
PUBLISHED = "/v1/sandbox/published"
MEDIA_URL = "https://cdn.example.com/chart.jpg"
VIDEO_URL = "https://cdn.example.com/clip.mp4"
SEED_BODY: dict[str, Any] = {
    "platforms": ["x", "instagram"],
    "content": {"text": "Markets today 📈", "media": MEDIA_URL},
}
REQUEST_ID = re.compile(r"req_[0-9a-f]{16,}")
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


@contextlib.asynccontextmanager
async def serve(
    config: SandboxConfig | None = None,
) -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession]]:
    """Run a sandbox on the current asyncio loop with an authenticated client session."""
    async with (
        Sandbox(config) as sandbox,
        aiohttp.ClientSession(base_url=sandbox.base_url, headers=AUTH) as http,
    ):
        yield sandbox, http


@attrs.frozen
class SseEvent:
    """One event as a client sees it."""

    id: int
    name: str
    raw: str

    @property
    def data(self) -> Any:
        """The event's data, decoded."""
        return json.loads(self.raw)


@attrs.define
class SseReader:
    """Reads events from a streaming response, one at a time, counting ``: ping`` comments."""

    response: aiohttp.ClientResponse
    pings: int = 0

    async def next(self) -> SseEvent | None:
        """Return the next event, or ``None`` when the stream ended."""
        fields: dict[str, str] = {}
        async for raw_line in self.response.content:
            line = raw_line.decode("utf-8").rstrip("\r\n")
            if not line:
                if fields:
                    return SseEvent(int(fields["id"]), fields["event"], fields["data"])
                continue
            if line.startswith(":"):
                self.pings += line == ": ping"
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return None

    async def all(self) -> list[SseEvent]:
        """Read every remaining event until the stream ends."""
        events = []
        while (event := await self.next()) is not None:
            events.append(event)
        return events


def error_of(body: Any) -> tuple[str, str, str | None]:
    """Return ``(type, code, param)`` of an error body, checking it has exactly its four fields."""
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error["type"], error["code"], error["param"]
