"""The simulated publish: one task per platform, events as they happen.

Each platform of a write publishes concurrently. It first fails fast for what
a real service knows at once (a platform it does not know, an account not
connected, media required but absent: read from the platform rules table,
never repeated here), then spends its configured latency, "processing" its
media first where the real platform does, and finally publishes: the post is
recorded in the ledger with the text ``socialwrite.platforms.format_text``
gives for that platform.

Post ids and URLs have each platform's real shape and are derived from the
seed, the write's number and the platform (not from the clock or the order in
which concurrent tasks finish), so the same writes on a fresh sandbox with the
same seed get the same ids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import anyio
import attrs

from socialwrite.platforms import (
    RULES,
    MediaKind,
    check_media,
    count_hashtags,
    count_text,
    format_text,
    guess_media_kind,
    rules_for,
)

from .._protocol import (
    CREDIT_PER_SUCCESS,
    EVENT_RESULT,
    EVENT_STATUS,
    STATUS_STATES,
    render_decimal,
)
from ._config import SandboxConfig
from ._ledger import Ledger, PublishedPost, rfc3339
from ._protocol import ESCAPE_RESET, ESCAPE_SEQUENCES, ProtocolError
from ._runs import WriteRun
from ._validation import ReceivedWrite

__all__ = [
    "PostIdentity",
    "WriteJob",
    "credits_for",
    "identity_for",
    "render_answer",
    "run_write",
]

# The platforms whose real APIs take a while to process uploaded media before
# the post exists, and report progress while they do.
_PROCESSES_MEDIA = frozenset({"instagram", "tiktok", "youtube"})
_PROCESSING_STEPS = 4

_QUEUED, _PROCESSING, _PUBLISHING = STATUS_STATES

_logger = logging.getLogger("socialwrite.sandbox")

_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BASE32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")


@attrs.frozen
class PostIdentity:
    """The id and URL a post gets if it is published.

    Attributes:
        post_id: the platform's id for the post.
        url: the post's public URL.
    """

    post_id: str
    url: str


class _Digits:
    """Deterministic numbers and strings drawn from a hash of a label."""

    def __init__(self, label: str) -> None:
        self._value: int = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")

    def number(self, digits: int) -> int:
        """A number with exactly ``digits`` decimal digits."""
        low: int = 10 ** (digits - 1)
        return low + self._value % (9 * low)

    def text(self, alphabet: str, length: int) -> str:
        """A string of ``length`` characters from ``alphabet``."""
        value = self._value
        chars = []
        for _ in range(length):
            value, remainder = divmod(value, len(alphabet))
            chars.append(alphabet[remainder])
        return "".join(chars)


def _encode(number: int, alphabet: str) -> str:
    chars = []
    while number:
        number, remainder = divmod(number, len(alphabet))
        chars.append(alphabet[remainder])
    return "".join(reversed(chars)) or alphabet[0]


@attrs.frozen
class _Draw:
    """What one post's id and URL are drawn from."""

    post: _Digits  # this write on this platform
    account: _Digits  # the account on this platform, the same for every write
    handle: str
    write_number: int
    options: Mapping[str, Any]


def _x(draw: _Draw) -> PostIdentity:
    post_id = str(draw.post.number(19))
    return PostIdentity(post_id, f"https://x.com/{draw.handle}/status/{post_id}")


def _meta_shortcode(draw: _Draw) -> tuple[str, str]:
    # Instagram and Threads derive the URL's shortcode from the media id, as Meta does.
    media_id = draw.post.number(19)
    return str(media_id), _encode(media_id, _BASE64URL)


def _instagram(draw: _Draw) -> PostIdentity:
    media_id, shortcode = _meta_shortcode(draw)
    return PostIdentity(media_id, f"https://www.instagram.com/p/{shortcode}/")


def _threads(draw: _Draw) -> PostIdentity:
    media_id, shortcode = _meta_shortcode(draw)
    return PostIdentity(media_id, f"https://www.threads.com/@{draw.handle}/post/{shortcode}")


def _linkedin(draw: _Draw) -> PostIdentity:
    urn = f"urn:li:share:{draw.post.number(19)}"
    return PostIdentity(urn, f"https://www.linkedin.com/feed/update/{urn}/")


def _bluesky(draw: _Draw) -> PostIdentity:
    rkey = draw.post.text(_BASE32_SORTABLE[:16], 1) + draw.post.text(_BASE32_SORTABLE, 12)
    did = "did:plc:" + draw.account.text(_BASE32_SORTABLE, 24)
    return PostIdentity(
        f"at://{did}/app.bsky.feed.post/{rkey}",
        f"https://bsky.app/profile/{draw.handle}.bsky.social/post/{rkey}",
    )


def _facebook(draw: _Draw) -> PostIdentity:
    page_id = draw.account.number(15)
    story_id = draw.post.number(16)
    return PostIdentity(
        f"{page_id}_{story_id}", f"https://www.facebook.com/{page_id}/posts/{story_id}"
    )


def _mastodon(draw: _Draw) -> PostIdentity:
    status_id = str(draw.post.number(18))
    return PostIdentity(status_id, f"https://mastodon.social/@{draw.handle}/{status_id}")


def _tiktok(draw: _Draw) -> PostIdentity:
    video_id = str(draw.post.number(19))
    return PostIdentity(video_id, f"https://www.tiktok.com/@{draw.handle}/video/{video_id}")


def _youtube(draw: _Draw) -> PostIdentity:
    video_id = draw.post.text(_BASE64URL, 11)
    return PostIdentity(video_id, f"https://www.youtube.com/watch?v={video_id}")


def _pinterest(draw: _Draw) -> PostIdentity:
    pin_id = str(draw.post.number(18))
    return PostIdentity(pin_id, f"https://www.pinterest.com/pin/{pin_id}/")


def _reddit(draw: _Draw) -> PostIdentity:
    link_id = draw.post.text(_BASE36, 7)
    subreddit = draw.options.get("subreddit")
    if isinstance(subreddit, str) and _SUBREDDIT.fullmatch(subreddit.removeprefix("r/")):
        place = f"r/{subreddit.removeprefix('r/')}"
    else:
        place = f"user/{draw.handle}"
    return PostIdentity(f"t3_{link_id}", f"https://www.reddit.com/{place}/comments/{link_id}/")


def _telegram(draw: _Draw) -> PostIdentity:
    # Telegram numbers a channel's messages one after another.
    message_id = str(draw.account.number(3) + draw.write_number)
    return PostIdentity(message_id, f"https://t.me/{draw.handle}/{message_id}")


# Each platform's real shape of post ids and URLs.
_IDENTITIES: Mapping[str, Callable[[_Draw], PostIdentity]] = MappingProxyType(
    {
        "x": _x,
        "instagram": _instagram,
        "threads": _threads,
        "linkedin": _linkedin,
        "bluesky": _bluesky,
        "facebook": _facebook,
        "mastodon": _mastodon,
        "tiktok": _tiktok,
        "youtube": _youtube,
        "pinterest": _pinterest,
        "reddit": _reddit,
        "telegram": _telegram,
    }
)


def identity_for(
    platform: str,
    *,
    seed: int,
    write_number: int,
    handle: str,
    options: Mapping[str, Any],
) -> PostIdentity:
    """Return the deterministic id and URL of ``platform``'s post for one write.

    Args:
        platform: a platform id from the rules table.
        seed: the sandbox's seed.
        write_number: the write's number on this sandbox, from 1.
        handle: the account name shown in URLs.
        options: this platform's options (Reddit posts to ``subreddit`` if given).
    """
    draw = _Draw(
        post=_Digits(f"{seed}/{write_number}/{platform}"),
        account=_Digits(f"{seed}/{handle}/{platform}"),
        handle=handle,
        write_number=write_number,
        options=options,
    )
    shape = _IDENTITIES.get(platform)
    if shape is not None:
        return shape(draw)
    # A platform added to the rules table before it gets its own URL shape here.
    post_id = str(draw.post.number(19))
    return PostIdentity(post_id, f"https://{platform}.example/{handle}/posts/{post_id}")


def credits_for(results: list[dict[str, Any]]) -> Decimal:
    """Return what a write with ``results`` costs: the price of each platform that succeeded."""
    return sum((CREDIT_PER_SUCCESS for result in results if result["success"]), Decimal(0))


def render_answer(results: list[dict[str, Any]], *, compat: bool = False) -> str:
    """Return the plain JSON answer of a write: ``results`` in request order and credits.

    ``credits_used`` is summed with :class:`~decimal.Decimal` and written as an
    exact JSON number, which ``json.dumps`` cannot do for a decimal.

    Args:
        results: each platform's result, in request order.
        compat: the vendor-compatible shape (``SandboxConfig.compat``): the
            results in reverse order, and post ids made of digits as JSON numbers.
    """
    credits_used = credits_for(results)
    if compat:
        results = [_vendor_shaped(result) for result in reversed(results)]
    results_text = json.dumps(results, ensure_ascii=False)
    return f'{{"results": {results_text}, "credits_used": {render_decimal(credits_used)}}}'


def _vendor_shaped(result: dict[str, Any]) -> dict[str, Any]:
    """A result as many vendors send it: a post id of digits as a JSON number."""
    post_id = result.get("post_id")
    if (
        isinstance(post_id, str)
        and post_id.isascii()
        and post_id.isdigit()
        and not post_id.startswith("0")
    ):
        return {**result, "post_id": int(post_id)}
    return result


def with_escape_sequences(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with escape sequences in its ``error`` and ``url`` (where they are set)."""
    hostile = dict(result)
    if hostile.get("error"):
        hostile["error"] = f"{ESCAPE_SEQUENCES}{hostile['error']}{ESCAPE_RESET}"
    if hostile.get("url"):
        hostile["url"] = f"{hostile['url']}{ESCAPE_SEQUENCES}"
    return hostile


def _failure(platform: str, code: str, message: str) -> dict[str, Any]:
    return {
        "platform": platform,
        "success": False,
        "post_id": None,
        "url": None,
        "error": message,
        "error_code": code,
    }


@attrs.frozen(kw_only=True)
class WriteJob:
    """Everything one write needs to run.

    Attributes:
        run: the write's event log.
        request: the validated request.
        idempotency_key: the request's key, or ``None``.
        config: the sandbox's behaviour.
        ledger: where published posts are recorded.
        media_lookup: the content type and size of a media URL the sandbox
            serves itself, or ``None`` for media hosted elsewhere.
        now: the clock for ``published_at`` (aware, UTC).
    """

    run: WriteRun
    request: ReceivedWrite
    idempotency_key: str | None
    config: SandboxConfig
    ledger: Ledger
    media_lookup: Callable[[str], tuple[str, int] | None] = lambda url: None
    now: Callable[[], datetime] = attrs.field(default=lambda: datetime.now(timezone.utc))

    def media_items(self) -> list[tuple[MediaKind, int | None]]:
        """Each media item's kind and size.

        Known for the sandbox's own uploads; guessed from the URL (size
        unknown) for media hosted elsewhere.
        """
        items: list[tuple[MediaKind, int | None]] = []
        for url in self.request.media:
            facts = self.media_lookup(url)
            if facts is None:
                items.append((guess_media_kind(url), None))
            else:
                content_type, size = facts
                items.append((guess_media_kind(url, content_type), size))
        return items


async def run_write(job: WriteJob) -> None:
    """Publish every platform of ``job`` concurrently and record the write's events.

    Emits ``queued`` for each platform, then per platform its ``processing`` and
    ``publishing`` statuses and its ``result`` as soon as it resolves, then
    ``done`` with the JSON answer. If the simulation itself breaks, the write
    fails as a whole with an ``error`` event (and the cause is logged).
    Cancelled (the server stopping), the run is finished without a last event.
    """
    run = job.run
    try:
        for index, platform in enumerate(job.request.platforms):
            run.emit(EVENT_STATUS, _status(index, platform, _QUEUED))
        results: list[dict[str, Any]] = [{} for _ in job.request.platforms]

        hostile = job.config.faults.escape_sequences

        async def publish(index: int, platform: str) -> None:
            result = await _publish_one(job, index, platform)
            if hostile:
                result = with_escape_sequences(result)
            results[index] = result
            run.emit(EVENT_RESULT, {"index": index, **result})

        async with anyio.create_task_group() as group:
            for index, platform in enumerate(job.request.platforms):
                group.start_soon(publish, index, platform)
        run.credits_used = credits_for(results)
        run.complete(render_answer(results, compat=job.config.compat))
    except anyio.get_cancelled_exc_class():
        run.abandon()
        raise
    except Exception:
        # The write's readers learn of it through the error event; the traceback
        # goes to the log for whoever runs the sandbox.
        _logger.exception("write %d failed as a whole", run.number)
        message = "the sandbox failed while publishing this write; see its log"
        run.fail(ProtocolError(500, "internal_error", message))


def _status(index: int, platform: str, state: str, progress: float | None = None) -> dict[str, Any]:
    return {"index": index, "platform": platform, "state": state, "progress": progress}


async def _publish_one(job: WriteJob, index: int, platform: str) -> dict[str, Any]:
    request = job.request
    rules = rules_for(platform)
    if rules is None:
        known = ", ".join(sorted(RULES))
        message = (
            f"{platform!r} is not a platform the sandbox knows, so no account of it can be "
            f"connected; the known platforms are {known}"
        )
        return _failure(platform, "platform_not_connected", message)
    if platform in job.config.not_connected:
        message = f"{rules.name} is not connected to this account; connect it, then retry"
        return _failure(platform, "platform_not_connected", message)
    # The platform's media rules (required, count, kinds, sizes) come from the
    # one rules table, exactly as the SDK's preview applies them.
    problem = check_media(platform, job.media_items())
    if problem is not None:
        code, message = problem
        return _failure(platform, code, message)

    latency = job.config.latency_of(platform)
    run = job.run
    if platform in _PROCESSES_MEDIA and request.media:
        for step in range(_PROCESSING_STEPS + 1):
            run.emit(EVENT_STATUS, _status(index, platform, _PROCESSING, step / _PROCESSING_STEPS))
            if step < _PROCESSING_STEPS:
                await anyio.sleep(latency / _PROCESSING_STEPS)
        run.emit(EVENT_STATUS, _status(index, platform, _PUBLISHING))
    else:
        run.emit(EVENT_STATUS, _status(index, platform, _PUBLISHING))
        await anyio.sleep(latency)

    options = request.options.get(platform, {})
    identity = identity_for(
        platform,
        seed=job.config.seed,
        write_number=run.number,
        handle=job.config.handle,
        options=options,
    )
    published_at = job.now().replace(microsecond=0)
    job.ledger.record(
        PublishedPost(
            platform=platform,
            post_id=identity.post_id,
            url=identity.url,
            text=(
                None
                if request.text is None
                else format_text(platform, request.text, with_media=bool(request.media))
            ),
            media=request.media,
            alt_text=request.alt_text,
            options=options,
            idempotency_key=job.idempotency_key,
            published_at=published_at,
        )
    )
    result: dict[str, Any] = {
        "platform": platform,
        "success": True,
        "post_id": identity.post_id,
        "url": identity.url,
        "error": None,
        "published_at": rfc3339(published_at),
    }
    comment = options.get("first_comment")
    if isinstance(comment, str):
        result["first_comment"] = first_comment_outcome(
            platform, identity.post_id, request.text or "", comment
        )
    return result


def first_comment_outcome(
    platform: str, post_id: str, caption: str, comment: str
) -> dict[str, Any]:
    """Post a first comment under a published post: its own outcome, which can fail.

    The platform's rules apply to the comment as to a post's text (length as
    the platform counts it), and its hashtag cap to the caption and the comment
    together: a comment that would pass it fails after the post succeeded.
    """
    rules = rules_for(platform)
    problem: str | None = None
    if rules is not None:
        if count_text(platform, comment) > rules.text_limit:
            problem = f"the comment is longer than {rules.name}'s {rules.text_limit} characters"
        elif rules.max_hashtags is not None and (
            count_hashtags(caption) + count_hashtags(comment) > rules.max_hashtags
        ):
            problem = (
                f"the caption and the comment together would carry more than "
                f"{rules.max_hashtags} hashtags"
            )
    if problem is not None:
        return {
            "success": False,
            "comment_id": None,
            "error": problem,
            "error_code": "comment_failed",
        }
    digest = hashlib.sha256(f"comment:{post_id}".encode()).hexdigest()
    return {"success": True, "comment_id": str(int(digest[:15], 16)), "error": None}
