r"""A FastAPI app that posts through one ``AsyncClient``, shared by every request.

The client is made once in the app's lifespan and closed when the app stops:
one connection pool for the whole app, reused by concurrent requests (an
``AsyncClient`` is safe to share among tasks), and no client left open.

Run it with uvicorn (``pip install fastapi uvicorn``), pointed at a server
with ``SOCIALWRITE_BASE_URL`` and ``SOCIALWRITE_API_KEY``, for example a
sandbox started with ``socialwrite sandbox``::

    export SOCIALWRITE_BASE_URL=http://127.0.0.1:8787 SOCIALWRITE_API_KEY=sandbox
    uvicorn fastapi_app:app --app-dir examples

    curl -s localhost:8000/posts -H 'Content-Type: application/json' \
        -H 'Idempotency-Key: launch-42' \
        -d '{"platforms": ["x", "bluesky"], "text": "We are live 🚀"}'
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field, HttpUrl

import socialwrite


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the one client the app shares, and close it when the app stops."""
    async with socialwrite.AsyncClient() as client:
        app.state.socialwrite = client
        yield


app = FastAPI(title="Announcements", lifespan=lifespan)


def get_client(request: Request) -> socialwrite.AsyncClient:
    """The app's shared client, as a dependency of the routes."""
    client: socialwrite.AsyncClient = request.app.state.socialwrite
    return client


SharedClient = Annotated[socialwrite.AsyncClient, Depends(get_client)]


class PostRequest(BaseModel):
    """What a caller asks to post."""

    platforms: list[str] = Field(min_length=1)
    text: str | None = None
    # URLs only: a path here would make the SDK upload that file from this
    # server's disk, whatever the caller named.
    media: list[HttpUrl] = Field(default_factory=list)
    alt_text: str | None = None
    options: dict[str, dict[str, str]] = Field(default_factory=dict)


class PlatformOutcome(BaseModel):
    """One platform's result."""

    platform: str
    success: bool
    url: str | None
    error: str | None
    error_code: str | None


class PostResponse(BaseModel):
    """The result of a post: one outcome per platform, in the order asked."""

    ok: bool
    results: list[PlatformOutcome]
    credits_used: str  # a decimal string, exact
    idempotency_key: str | None


@app.post("/posts")
async def create_post(
    body: PostRequest,
    client: SharedClient,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> PostResponse:
    """Post to every platform at once; one platform failing is reported, not raised.

    A caller that retries with the same ``Idempotency-Key`` header gets the
    first answer back, and nothing is published twice.
    """
    try:
        result = await client.write(
            platforms=body.platforms,
            content={
                "text": body.text,
                "media": [str(url) for url in body.media],
                "alt_text": body.alt_text,
            },
            options=body.options,
            idempotency_key=idempotency_key,
        )
    except socialwrite.ValidationError as exc:
        raise HTTPException(422, detail={"param": exc.param, "message": exc.message}) from exc
    except socialwrite.RateLimitError as exc:
        # Still limited after the client's own retries: ask our caller to wait.
        wait = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else None
        raise HTTPException(503, detail="rate limited, try again later", headers=wait) from exc
    except socialwrite.APIError as exc:
        raise HTTPException(502, detail=f"the social API failed: {exc}") from exc
    return PostResponse(
        ok=result.ok,
        results=[
            PlatformOutcome(
                platform=item.platform,
                success=item.success,
                url=item.url,
                error=item.error,
                error_code=item.error_code,
            )
            for item in result
        ],
        credits_used=str(result.credits_used),
        idempotency_key=result.idempotency_key,
    )


class PreviewRequest(BaseModel):
    """The text to check, and where it would go."""

    platforms: list[str] = Field(min_length=1)
    text: str


@app.post("/previews")
async def preview_post(body: PreviewRequest, client: SharedClient) -> dict[str, dict[str, object]]:
    """What each platform would receive, computed locally: no network call."""
    try:
        previews = client.preview(platforms=body.platforms, content={"text": body.text})
    except socialwrite.ValidationError as exc:
        raise HTTPException(422, detail={"param": exc.param, "message": exc.message}) from exc
    return {
        platform: {
            "text": item.text,
            "count": item.count,
            "limit": item.limit,
            "warnings": list(item.warnings),
        }
        for platform, item in previews.items()
    }
