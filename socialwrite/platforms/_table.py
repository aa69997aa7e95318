"""The platform rules table: one row per platform, every per-platform fact once.

A row states the platform's text limit and how it counts text, its media
rules, and the class that defines its options (``None`` for a platform that
takes none). The media fields have no defaults: a new row that forgets one
fails to build, and ``tests/test_platforms_table.py`` checks that every part
of a platform (row, counting, options class, export, docs) is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs

from ._options import (
    InstagramOptions,
    LinkedInOptions,
    OptionSpec,
    PinterestOptions,
    PlatformOptions,
    RedditOptions,
    XOptions,
    YouTubeOptions,
    option_specs,
    platform_of,
)

__all__ = ["RULES", "MediaKind", "PlatformRules", "TextCounting", "rules_for"]

_MB = 1_000_000

TextCounting: TypeAlias = Literal["twitter_weighted", "graphemes", "code_points"]
"""How a platform counts text: X's weighted length, grapheme clusters, or code points."""

MediaKind: TypeAlias = Literal["image", "gif", "video"]
"""The kinds of media the rules tell apart."""

_NO_OPTIONS: Mapping[str, OptionSpec] = MappingProxyType({})


def _options_of_this_platform(
    rules: PlatformRules, attribute: attrs.Attribute[Any], value: type[Any] | None
) -> None:
    """Refuse a row whose options class is marked for another platform (or none)."""
    if value is not None and platform_of(value) != rules.id:
        msg = (
            f"{value.__name__} is marked @options_for({platform_of(value)!r}), "
            f"not {rules.id!r}: the row and its options class must agree"
        )
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class PlatformRules:
    """What one platform accepts.

    Attributes:
        id: the platform id used in ``platforms``.
        name: the platform's display name.
        text_limit: the most text a post may carry, as the platform counts it.
        text_counting: how the platform counts text (see ``TextCounting``).
        url_length: what a link with ``http(s)://`` counts as, whatever its
            length (Mastodon: 23), or ``None`` when links count as they are
            written. X's links are part of its weighted counting.
        caption_limit: the most text when the post has media, when that is
            lower than ``text_limit`` (Telegram captions: 1024), else ``None``.
        max_hashtags: the most hashtags a post may carry (Instagram 30), or ``None``.
        media_required: True when a post without an image or video fails.
        max_media: the most media items in one post.
        max_images: the most images in one post (0: images are not accepted).
        max_gifs: the most animated GIFs in one post (0: not accepted).
        max_videos: the most videos in one post (0: not accepted).
        mixed_media: whether one post may mix kinds (images with a video).
        max_image_bytes: the largest image, or ``None`` when there is no
            published limit.
        max_gif_bytes: the largest GIF, or ``None`` when there is no published limit.
        max_video_bytes: the largest video, or ``None`` likewise.
        alt_text_limit: the longest alt text, or ``None`` when the platform takes none.
        options_class: the attrs class that defines the platform's options
            (``XOptions``), or ``None`` when it takes none.
    """

    id: str
    name: str
    text_limit: int
    text_counting: TextCounting
    url_length: int | None = None
    caption_limit: int | None = None
    max_hashtags: int | None = None
    media_required: bool
    max_media: int
    max_images: int
    max_gifs: int
    max_videos: int
    mixed_media: bool
    max_image_bytes: int | None
    max_gif_bytes: int | None
    max_video_bytes: int | None
    alt_text_limit: int | None
    options_class: type[PlatformOptions] | None = attrs.field(validator=_options_of_this_platform)

    @property
    def options(self) -> Mapping[str, OptionSpec]:
        """The options the platform takes, by name, read from ``options_class``.

        Example:
            >>> RULES["linkedin"].options["visibility"].choices
            ('public', 'connections')
        """
        if self.options_class is None:
            return _NO_OPTIONS
        return option_specs(self.options_class)

    @property
    def title_limit(self) -> int | None:
        """The longest title (YouTube 100, Reddit 300), or ``None``: the ``title`` option's."""
        title = self.options.get("title")
        return None if title is None else title.max_length

    def limit(self, *, with_media: bool = False) -> int:
        """Return the text limit for a post with or without media.

        Example:
            >>> RULES["telegram"].limit(), RULES["telegram"].limit(with_media=True)
            (4096, 1024)
        """
        if with_media and self.caption_limit is not None:
            return min(self.caption_limit, self.text_limit)
        return self.text_limit

    def max_bytes(self, kind: MediaKind) -> int | None:
        """Return the size limit for one item of ``kind``, or ``None`` when there is none."""
        if kind == "video":
            return self.max_video_bytes
        if kind == "gif":
            return self.max_gif_bytes
        return self.max_image_bytes

    def max_of_kind(self, kind: MediaKind) -> int:
        """Return the most items of ``kind`` one post may carry (0: not accepted)."""
        if kind == "video":
            return self.max_videos
        if kind == "gif":
            return self.max_gifs
        return self.max_images


_TABLE = (
    PlatformRules(
        id="x",
        name="X",
        text_limit=280,  # twitter-text v3's maxWeightedTweetLength
        text_counting="twitter_weighted",
        media_required=False,
        max_media=4,
        max_images=4,
        max_gifs=1,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=5 * _MB,
        max_gif_bytes=15 * _MB,
        max_video_bytes=512 * _MB,
        alt_text_limit=1000,
        options_class=XOptions,
    ),
    PlatformRules(
        id="bluesky",
        name="Bluesky",
        text_limit=300,
        text_counting="graphemes",
        media_required=False,
        max_media=4,
        max_images=4,
        max_gifs=4,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=1_000_000,
        max_gif_bytes=1_000_000,
        max_video_bytes=100 * _MB,
        alt_text_limit=2000,
        options_class=None,
    ),
    PlatformRules(
        id="threads",
        name="Threads",
        text_limit=500,
        text_counting="code_points",
        media_required=False,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=10,
        mixed_media=True,
        max_image_bytes=8 * _MB,
        max_gif_bytes=8 * _MB,
        max_video_bytes=None,
        alt_text_limit=None,
        options_class=None,
    ),
    PlatformRules(
        id="mastodon",
        name="Mastodon",
        text_limit=500,
        text_counting="code_points",
        url_length=23,
        media_required=False,
        max_media=4,
        max_images=4,
        max_gifs=4,
        max_videos=4,
        mixed_media=True,
        max_image_bytes=16 * _MB,
        max_gif_bytes=16 * _MB,
        max_video_bytes=99 * _MB,
        alt_text_limit=1500,
        options_class=None,
    ),
    PlatformRules(
        id="linkedin",
        name="LinkedIn",
        text_limit=3000,
        text_counting="code_points",
        media_required=False,
        max_media=9,
        max_images=9,
        max_gifs=9,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=5 * _MB,
        max_gif_bytes=5 * _MB,
        max_video_bytes=None,
        alt_text_limit=None,
        options_class=LinkedInOptions,
    ),
    PlatformRules(
        id="facebook",
        name="Facebook",
        text_limit=63206,
        text_counting="code_points",
        media_required=False,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=10 * _MB,
        max_gif_bytes=10 * _MB,
        max_video_bytes=None,
        alt_text_limit=None,
        options_class=None,
    ),
    PlatformRules(
        id="instagram",
        name="Instagram",
        text_limit=2200,
        text_counting="code_points",
        max_hashtags=30,
        media_required=True,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=10,
        mixed_media=True,
        max_image_bytes=8 * _MB,
        max_gif_bytes=8 * _MB,
        max_video_bytes=300 * _MB,
        alt_text_limit=1000,
        options_class=InstagramOptions,
    ),
    PlatformRules(
        id="tiktok",
        name="TikTok",
        text_limit=2200,
        text_counting="code_points",
        media_required=True,
        max_media=35,
        max_images=35,
        max_gifs=0,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=None,
        max_gif_bytes=None,
        max_video_bytes=1000 * _MB,
        alt_text_limit=None,
        options_class=None,
    ),
    PlatformRules(
        id="youtube",
        name="YouTube",
        text_limit=5000,  # the description; the title is YouTubeOptions.title
        text_counting="code_points",
        media_required=True,
        max_media=1,
        max_images=0,
        max_gifs=0,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=None,
        max_gif_bytes=None,
        max_video_bytes=None,
        alt_text_limit=None,
        options_class=YouTubeOptions,
    ),
    PlatformRules(
        id="pinterest",
        name="Pinterest",
        text_limit=500,
        text_counting="code_points",
        media_required=True,
        max_media=1,
        max_images=1,
        max_gifs=1,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=20 * _MB,
        max_gif_bytes=20 * _MB,
        max_video_bytes=None,
        alt_text_limit=500,
        options_class=PinterestOptions,
    ),
    PlatformRules(
        id="reddit",
        name="Reddit",
        text_limit=300,
        text_counting="code_points",
        media_required=False,
        max_media=1,
        max_images=1,
        max_gifs=1,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=None,
        max_gif_bytes=None,
        max_video_bytes=None,
        alt_text_limit=None,
        options_class=RedditOptions,
    ),
    PlatformRules(
        id="telegram",
        name="Telegram",
        text_limit=4096,
        text_counting="code_points",
        caption_limit=1024,
        media_required=False,
        max_media=1,
        max_images=1,
        max_gifs=1,
        max_videos=1,
        mixed_media=False,
        max_image_bytes=5 * _MB,
        max_gif_bytes=5 * _MB,
        max_video_bytes=5 * _MB,
        alt_text_limit=None,
        options_class=None,
    ),
)

RULES: Mapping[str, PlatformRules] = MappingProxyType({rules.id: rules for rules in _TABLE})
"""Every platform the SDK knows, keyed by id. Others are passed to the server as they are."""


def rules_for(platform: str) -> PlatformRules | None:
    """Return the rules of ``platform``, or ``None`` for a platform not in the table."""
    return RULES.get(platform)
