"""The public data classes: what a write sends (``Content``, ``Media``) and gets back.

Every class is a frozen, keyword-only attrs class. Decoding what the server
sent is the job of the converter (``_converter``); nothing here parses
JSON. The results know their own JSON shape (``WriteResult.to_dict`` and
``to_json``), which is the protocol's answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias, Union

import attrs

from ._errors import ValidationError
from ._instances import from_fields
from ._json import dumps, format_datetime

__all__ = [
    "CommentResult",
    "Content",
    "Media",
    "MediaInput",
    "PlatformResult",
    "WriteResult",
    "new_platform_result",
    "new_write_result",
    "platform_result_dict",
    "to_alt_text",
    "to_media_tuple",
]


@attrs.frozen(kw_only=True)
class Media:
    """One media item of a post: a URL passed through, or a local file to upload.

    Args:
        source: an absolute ``http(s)`` URL, or a local path (``str`` or
            ``os.PathLike``). Local files are uploaded before the write.
        alt_text: the description for screen readers, for this item only.
        content_type: the MIME type, when the file name does not tell it.

    Example:
        >>> Media(source="chart.jpg", alt_text="S&P 500, up 2% today")
        Media(source='chart.jpg', alt_text='S&P 500, up 2% today', content_type=None)
    """

    source: str | os.PathLike[str]
    alt_text: str | None = None
    content_type: str | None = None


MediaInput: TypeAlias = Union[str, "os.PathLike[str]", Media]
"""What ``content.media`` accepts per item: a URL, a local path, or a ``Media``."""


def to_media_tuple(value: MediaInput | Iterable[MediaInput] | None) -> tuple[MediaInput, ...]:
    """Normalise ``media`` to a tuple: one item or many, ``None`` for none."""
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike, Media)):
        return (value,)
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        msg = f"must be a URL, a local path, a Media, or a list of them, not {type(value).__name__}"
        raise ValidationError(msg, param="content.media")
    return tuple(value)


def to_alt_text(value: str | Iterable[str] | None) -> str | tuple[str, ...] | None:
    """Normalise ``alt_text``: one string for all media, or one per item."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        msg = f"must be a string or a list of strings, not {type(value).__name__}"
        raise ValidationError(msg, param="content.alt_text")
    return tuple(value)


@attrs.frozen(kw_only=True)
class Content:
    """What to post: text, media, or both.

    Args:
        text: the post's text. The service formats and truncates it per
            platform (see ``socialwrite.preview`` to see the result beforehand).
        media: one item or a list; each a URL, a local path, or a ``Media``.
        alt_text: one description for all media, or a list with one per item.

    Example:
        >>> Content(text="Markets today 📈", media=["chart.jpg"], alt_text=["A chart"])
        Content(text='Markets today 📈', media=('chart.jpg',), alt_text=('A chart',))
    """

    text: str | None = None
    media: tuple[MediaInput, ...] = attrs.field(default=(), converter=to_media_tuple)
    alt_text: str | tuple[str, ...] | None = attrs.field(default=None, converter=to_alt_text)


@attrs.frozen(kw_only=True)
class CommentResult:
    """The outcome of a comment posted right after a post (Instagram's ``first_comment``).

    A separate step: it can fail after the post itself succeeded, so it has
    its own outcome rather than failing the platform's result.

    Attributes:
        success: whether the comment was posted.
        comment_id: the platform's id of the comment, on success.
        error: a human-readable reason, on failure.
        error_code: a stable machine-readable reason, when the server gives one.
    """

    success: bool
    comment_id: str | None = None
    error: str | None = None
    error_code: str | None = None


# The two result classes keep their fields in an instance dict (``slots=False``):
# the decoder builds them with `new_platform_result` and `new_write_result`,
# in one step (see ``_instances``). They are made for every write, on the path
# whose cost the benchmarks measure; frozen and keyword-only all the same.
@attrs.frozen(kw_only=True, slots=False)
class PlatformResult:
    """The outcome of a write on one platform.

    Attributes:
        platform: the platform id (``"x"``, ``"instagram"``, ...).
        success: whether the post was published there.
        post_id: the platform's id of the post, on success.
        url: the post's public URL, on success.
        error: a human-readable reason, on failure.
        error_code: a stable machine-readable reason (``media_required``,
            ``platform_not_connected``, ...), when the server gives one;
            ``missing_result`` when the server's answer had no result for
            this platform (whether it was published there is unknown).
        published_at: when it was published (timezone-aware), when known.
        first_comment: the outcome of the post's first comment, when one was
            asked for (``InstagramOptions(first_comment=...)``); ``None`` otherwise.
        extra: fields the server sent that this version does not know,
            kept rather than dropped.
    """

    platform: str
    success: bool
    post_id: str | None = None
    url: str | None = None
    error: str | None = None
    error_code: str | None = None
    published_at: datetime | None = None
    first_comment: CommentResult | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, hash=False, repr=False)


@attrs.frozen(kw_only=True, slots=False)
class WriteResult:
    """The aggregate answer of a write: one ``PlatformResult`` per platform.

    Attributes:
        results: one result per platform, in the order the platforms were given.
        credits_used: the credits charged, exact (``Decimal("0.015")``).
        idempotency_key: the key this write was sent with (the same on
            every retry): keep it to prove what was posted.
        request_id: the server's ``X-Request-Id`` of the answer, when given.
        retries: how many retries the write took (0 when the first try answered).
        extra: top-level fields the server sent that this version does not know.

    Example:
        >>> result = await client.write(platforms=["x"], content={"text": "hi"})  # doctest: +SKIP
        >>> result.ok, result["x"].url  # doctest: +SKIP
        (True, 'https://x.com/sandbox/status/1861...')
    """

    results: tuple[PlatformResult, ...]
    credits_used: Decimal
    idempotency_key: str | None = None
    request_id: str | None = attrs.field(default=None, eq=False)
    retries: int = attrs.field(default=0, eq=False)
    extra: Mapping[str, Any] = attrs.field(factory=dict, hash=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when every platform succeeded."""
        return all(r.success for r in self.results)

    @property
    def succeeded(self) -> tuple[PlatformResult, ...]:
        """The results that succeeded, in request order."""
        return tuple(r for r in self.results if r.success)

    @property
    def failed(self) -> tuple[PlatformResult, ...]:
        """The results that failed, in request order."""
        return tuple(r for r in self.results if not r.success)

    def __getitem__(self, platform: str) -> PlatformResult:
        """Return the result for ``platform``; ``KeyError`` when it was not in the write."""
        for result in self.results:
            if result.platform == platform:
                return result
        raise KeyError(platform)

    def __iter__(self) -> Iterator[PlatformResult]:
        """Iterate over the per-platform results, in request order."""
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        """Return the protocol's JSON answer as plain Python objects.

        ``credits_used`` stays a ``Decimal`` and ``published_at`` becomes an
        ISO 8601 string, so ``json.dumps(result.to_dict(), default=str)`` or
        ``to_json()`` gives the wire format.
        """
        out: dict[str, Any] = {
            "results": [platform_result_dict(r) for r in self.results],
            "credits_used": self.credits_used,
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def to_json(self) -> str:
        """Return exactly the protocol's JSON answer: ``{"results": [...], "credits_used": N}``."""
        return dumps(self.to_dict())


def new_platform_result(  # noqa: PLR0917 - every field, positionally, for speed
    platform: str,
    success: bool,  # noqa: FBT001 - private, and positional for speed
    post_id: str | None,
    url: str | None,
    error: str | None,
    error_code: str | None,
    published_at: datetime | None,
    first_comment: CommentResult | None,
    extra: Mapping[str, Any],
) -> PlatformResult:
    """``PlatformResult(...)`` with every field given, for the decoder (see the class notes)."""
    return from_fields(
        PlatformResult,
        {
            "platform": platform,
            "success": success,
            "post_id": post_id,
            "url": url,
            "error": error,
            "error_code": error_code,
            "published_at": published_at,
            "first_comment": first_comment,
            "extra": extra,
        },
    )


def new_write_result(  # noqa: PLR0917 - every field, positionally, for speed
    results: tuple[PlatformResult, ...],
    credits_used: Decimal,
    idempotency_key: str | None,
    request_id: str | None,
    retries: int,
    extra: Mapping[str, Any],
) -> WriteResult:
    """``WriteResult(...)`` with every field given, for the decoder (see the class notes)."""
    return from_fields(
        WriteResult,
        {
            "results": results,
            "credits_used": credits_used,
            "idempotency_key": idempotency_key,
            "request_id": request_id,
            "retries": retries,
            "extra": extra,
        },
    )


# -- the protocol's JSON shape of the results -------------------------------------------


def _comment_result_dict(result: CommentResult) -> dict[str, Any]:
    """Encode the outcome of a first comment (``error_code`` only when set)."""
    out: dict[str, Any] = {
        "success": result.success,
        "comment_id": result.comment_id,
        "error": result.error,
    }
    if result.error_code is not None:
        out["error_code"] = result.error_code
    return out


def platform_result_dict(result: PlatformResult) -> dict[str, Any]:
    """Encode one result in the protocol's shape (optional fields only when set)."""
    out: dict[str, Any] = {
        "platform": result.platform,
        "success": result.success,
        "post_id": result.post_id,
        "url": result.url,
        "error": result.error,
    }
    if result.error_code is not None:
        out["error_code"] = result.error_code
    if result.published_at is not None:
        out["published_at"] = format_datetime(result.published_at)
    if result.first_comment is not None:
        out["first_comment"] = _comment_result_dict(result.first_comment)
    for key, value in result.extra.items():
        out.setdefault(key, value)
    return out
