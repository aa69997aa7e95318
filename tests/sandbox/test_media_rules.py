"""The sandbox applies each platform's media rules from the one table, per platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from socialwrite import Client, InstagramOptions
from socialwrite.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module."""
    with Sandbox().run_in_thread() as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[Client]:
    """A blocking client bound to the sandbox."""
    with Client(sandbox.api_key, base_url=sandbox.base_url) as client:
        yield client


def test_too_many_media_fails_only_that_platform(client: Client) -> None:
    """Five images: X (4 at most) fails with media_unsupported; Threads (10) succeeds."""
    media = [f"https://cdn.example.com/{i}.jpg" for i in range(5)]
    result = client.write(platforms=["x", "threads"], content={"text": "five", "media": media})
    assert result["x"].error_code == "media_unsupported"
    assert result["threads"].success


def test_video_where_only_images_go(client: Client) -> None:
    """YouTube takes a video; an image is refused there while X takes it."""
    result = client.write(
        platforms=["x", "youtube"], content={"media": "https://cdn.example.com/a.jpg"}
    )
    assert result["x"].success
    assert result["youtube"].error_code == "media_unsupported"


def test_uploaded_file_size_is_checked(client: Client, tmp_path: Path) -> None:
    """An uploaded 1.5 MB image is over Bluesky's 1,000,000 bytes, fine for X."""
    image = tmp_path / "big.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 1_500_000)
    result = client.write(platforms=["x", "bluesky"], content={"media": image})
    assert result["x"].success
    assert result["bluesky"].error_code == "media_unsupported"
    assert result["bluesky"].error is not None
    assert "1" in result["bluesky"].error


def test_telegram_caption_is_cut_to_1024_with_media(client: Client, sandbox: Sandbox) -> None:
    """With media, Telegram's text is a caption: cut to 1024, not 4096."""
    result = client.write(
        platforms=["telegram"],
        content={"text": "w " * 1000, "media": "https://cdn.example.com/a.jpg"},
        idempotency_key="telegram-caption",
    )
    assert result.ok
    (post,) = [p for p in sandbox.published() if p.idempotency_key == "telegram-caption"]
    assert post.text is not None
    assert len(post.text) <= 1024
    assert post.text.endswith("…")


def test_first_comment_is_its_own_outcome(client: Client, sandbox: Sandbox) -> None:
    """Instagram's first comment succeeds or fails on its own, after the post succeeded."""
    media = "https://cdn.example.com/a.jpg"
    ok = client.write(
        platforms=["instagram"],
        content={"text": "Markets #stocks", "media": media},
        options={"instagram": InstagramOptions(first_comment="#markets #today")},
    )
    comment = ok["instagram"].first_comment
    assert ok["instagram"].success
    assert comment is not None
    assert comment.success
    assert comment.comment_id
    tags = " ".join(f"#tag{i}" for i in range(30))
    failed = client.write(
        platforms=["instagram"],
        content={"text": "Markets #stocks", "media": media},
        options={"instagram": {"first_comment": tags}},
    )
    assert failed["instagram"].success
    assert failed["instagram"].url
    comment = failed["instagram"].first_comment
    assert comment is not None
    assert not comment.success
    assert comment.error_code == "comment_failed"
    assert comment.error is not None
    assert "30 hashtags" in comment.error
    plain = client.write(platforms=["instagram"], content={"media": media})
    assert plain["instagram"].first_comment is None
