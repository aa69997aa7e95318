"""Input checks: every problem is a ValidationError naming its field, before any I/O."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from socialwrite import AsyncClient, Client, Content, Media, ValidationError
from socialwrite._json import encode_body
from socialwrite._request import LocalFile, write_body
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite._validate import (
    _VALID_PLATFORM_LISTS,
    _VALID_PLATFORM_LISTS_MAX,
    validate_platforms,
    validate_write,
)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A small local PNG file."""
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return path


def check(**kwargs: Any) -> ValidationError:
    """Validate a write that must fail, and return its error."""
    kwargs.setdefault("platforms", ["x"])
    kwargs.setdefault("content", {"text": "hi"})
    with pytest.raises(ValidationError) as info:
        validate_write(**kwargs)
    return info.value


@pytest.mark.parametrize(
    ("platforms", "param", "fragment"),
    [
        ("x", "platforms", "bare string"),
        ([], "platforms", "at least one"),
        (None, "platforms", "list of platform ids"),
        ({"x"}, "platforms", "list of platform ids"),
        (["x", "x"], "platforms[1]", "listed twice"),
        (["X"], "platforms[0]", "use 'x'"),
        (["x", 3], "platforms[1]", "platform id string"),
        (["no spaces"], "platforms[0]", "not a platform id"),
        ([f"p{i}" for i in range(21)], "platforms", "at most 20"),
    ],
)
def test_platforms(platforms: Any, param: str, fragment: str) -> None:
    """platforms is a list of 1 to 20 unique lowercase ids; a bare string is an error."""
    error = check(platforms=platforms)
    assert error.param == param
    assert fragment in error.message


def test_twenty_platforms_are_fine() -> None:
    """Exactly 20 unique ids pass."""
    request = validate_write(platforms=[f"p{i}" for i in range(20)], content={"text": "hi"})
    assert len(request.platforms) == 20


@pytest.mark.parametrize(
    ("content", "param"),
    [
        ("hello", "content"),
        (None, "content"),
        ({}, "content"),
        ({"text": ""}, "content"),
        ({"text": "   "}, "content"),
        ({"text": 5}, "content.text"),
        ({"txt": "hi"}, "content.txt"),
        ({"text": "hi", "media": 5}, "content.media"),
        ({"media": ["ftp://example.com/a.jpg"]}, "content.media[0]"),
        ({"media": ["https://"]}, "content.media[0]"),
        ({"media": ["https://exa mple.com/a.jpg"]}, "content.media[0]"),
        ({"media": ["https://user:pw@example.com/a.jpg"]}, "content.media[0]"),
        ({"media": [b"bytes.jpg"]}, "content.media[0]"),
        ({"media": [3]}, "content.media[0]"),
        ({"media": ["/no/such/file.jpg"]}, "content.media[0]"),
        ({"media": [""]}, "content.media[0]"),
        ({"media": [f"https://e.com/{i}.jpg" for i in range(11)]}, "content.media"),
        ({"text": "hi", "alt_text": "no media"}, "content.alt_text"),
        ({"media": ["https://e.com/a.jpg"], "alt_text": ["a", "b"]}, "content.alt_text"),
        ({"media": ["https://e.com/a.jpg"], "alt_text": [5]}, "content.alt_text[0]"),
        ({"media": ["https://e.com/a.jpg"], "alt_text": 5}, "content.alt_text"),
    ],
)
def test_content(content: Any, param: str) -> None:
    """content needs text or media; media are http(s) URLs or readable local files."""
    assert check(content=content).param == param


def test_did_you_mean_for_content_keys() -> None:
    """A misspelt content key gets a suggestion."""
    assert "did you mean 'text'" in check(content={"txt": "hi"}).message


def test_local_file_checks(tmp_path: Path, image: Path) -> None:
    """A directory, an empty file and an unreadable file are refused with their reason."""
    assert "directory" in check(content={"media": [str(tmp_path)]}).message
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert "empty" in check(content={"media": [empty]}).message
    request = validate_write(platforms=["x"], content={"media": [image]})
    assert request.media == (
        LocalFile(source=image, path=str(image), size=72, content_type="image/png"),
    )


def test_local_file_types(tmp_path: Path) -> None:
    """A local file must be an image or a video: by name, by its bytes, or as declared."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not media")
    error = check(content={"media": ["https://e.com/a.jpg", notes]})
    assert error.param == "content.media[1]"
    assert "text/plain" in error.message
    unnamed = tmp_path / "upload.bin"
    unnamed.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 32)
    (item,) = validate_write(platforms=["x"], content={"media": [unnamed]}).media
    assert isinstance(item, LocalFile)
    assert item.content_type == "image/jpeg"
    declared = validate_write(
        platforms=["x"], content={"media": [Media(source=str(notes), content_type="video/mp4")]}
    ).media[0]
    assert isinstance(declared, LocalFile)
    assert declared.content_type == "video/mp4"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    """A file without read permission is refused."""
    locked = tmp_path / "locked.jpg"
    locked.write_bytes(b"x")
    locked.chmod(0)
    assert "cannot" in check(content={"media": [locked]}).message


def test_urls_pass_through_and_paths_become_local_files(image: Path) -> None:
    """URLs stay strings; local paths (str or PathLike) become LocalFile items."""
    request = validate_write(
        platforms=["x", "instagram"],
        content={"text": "hi", "media": ["https://e.com/a.jpg", str(image), image]},
    )
    assert request.media[0] == "https://e.com/a.jpg"
    assert isinstance(request.media[1], LocalFile)
    assert isinstance(request.media[2], LocalFile)
    assert len(request.local_files) == 2


def test_alt_text_per_media_item() -> None:
    """Alt text on Media items becomes a per-item list; mixing both places is refused."""
    request = validate_write(
        platforms=["x"],
        content=Content(
            media=[Media(source="https://e.com/a.jpg", alt_text="A"), "https://e.com/b.jpg"]
        ),
    )
    assert request.alt_text == ("A", "")
    error = check(
        content=Content(media=[Media(source="https://e.com/a.jpg", alt_text="A")], alt_text="B")
    )
    assert error.param == "content.alt_text"


def test_body_is_the_protocol_shape() -> None:
    """The JSON body has platforms, content and options as protocol.md says."""
    request = validate_write(
        platforms=["x", "instagram"],
        content={"text": "hi", "media": "https://e.com/a.jpg", "alt_text": "A"},
        options={"instagram": {"format": "feed"}},
    )
    assert request.body() == {
        "platforms": ["x", "instagram"],
        "content": {"text": "hi", "media": ["https://e.com/a.jpg"], "alt_text": "A"},
        "options": {"instagram": {"format": "feed"}},
    }


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ("feed", "options"),
        ({"bluesky": {}}, "options.bluesky"),
        ({"x": "reply"}, "options.x"),
    ],
)
def test_options(options: Any, param: str) -> None:
    """options is keyed by platforms of the write, each value a mapping."""
    assert check(options=options).param == param


@pytest.mark.parametrize("key", ["", "a" * 256, "tab\there", "ünïcode", 5])
def test_idempotency_key(key: Any) -> None:
    """An idempotency key is 1 to 255 printable ASCII characters."""
    assert check(idempotency_key=key).param == "idempotency_key"


junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=10)
    | st.sampled_from(["x", "instagram", "https://e.com/a.jpg", "text", "media", "/etc", "."]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(
            st.sampled_from(["text", "media", "alt_text", "x", "instagram", "format"]) | st.text(),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(platforms=junk, content=junk, options=junk, key=junk)
def test_junk_only_ever_raises_validation_error(
    platforms: Any, content: Any, options: Any, key: Any
) -> None:
    """Arbitrary junk given to write() raises ValidationError (or passes), sending nothing."""
    transport = MockTransport(lambda request: MockResponse(status_code=500))
    client = AsyncClient("sk_test", base_url="http://127.0.0.1:9", transport=transport)
    error: ValidationError | None = None
    try:
        operation = client.write(
            platforms=platforms, content=content, options=options, idempotency_key=key
        )
    except ValidationError as raised:
        error = raised
    else:
        # Valid by chance: the operation exists but nothing ran yet, and its
        # body is already encoded (junk holds no local files).
        assert operation.idempotency_key
        assert operation._run.request.encoded_body is not None
    if error is not None:
        assert error.param is None or isinstance(error.param, str)
        assert str(error)
    assert transport.requests == []


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    api_key=junk,
    base_url=junk,
    timeout=junk,
    max_retries=junk,
    upload_concurrency=junk,
)
def test_junk_settings_only_ever_raise_validation_error(
    api_key: Any, base_url: Any, timeout: Any, max_retries: Any, upload_concurrency: Any
) -> None:
    """Arbitrary constructor arguments give a client or a ValidationError, nothing else."""
    for cls in (AsyncClient, Client):
        client, error = _construct(
            cls,
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            upload_concurrency=upload_concurrency,
        )
        if error is not None:
            assert str(error)
            assert not (isinstance(api_key, str) and len(api_key) > 3 and api_key in str(error))
        else:
            assert "hidden" in repr(client)
            if isinstance(client, Client):
                client.close()


def _construct(
    cls: type[AsyncClient | Client], api_key: Any, **settings: Any
) -> tuple[AsyncClient | Client | None, ValidationError | None]:
    """Build a client, returning the ValidationError instead of raising it."""
    try:
        return cls(api_key, **settings), None
    except ValidationError as error:
        return None, error


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(platforms=junk, content=junk)
def test_junk_preview_only_ever_raises_validation_error(platforms: Any, content: Any) -> None:
    """preview() with junk returns previews or raises ValidationError."""
    client = AsyncClient("sk_test", base_url="http://127.0.0.1:9")
    try:
        previews = client.preview(platforms=platforms, content=content)
    except ValidationError:
        return
    assert list(previews) == list(platforms)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=junk, media=junk, alt_text=junk, source=junk, item_alt=junk, content_type=junk)
def test_junk_models_only_ever_raise_validation_error(  # noqa: PLR0917 - one per field
    text: Any, media: Any, alt_text: Any, source: Any, item_alt: Any, content_type: Any
) -> None:
    """Content and Media built from junk are refused by write() with a ValidationError."""
    transport = MockTransport(lambda request: MockResponse(status_code=500))
    client = AsyncClient("sk_test", base_url="http://127.0.0.1:9", transport=transport)
    try:
        content = Content(
            text=text,
            media=[Media(source=source, alt_text=item_alt, content_type=content_type), *media]
            if isinstance(media, list)
            else media,
            alt_text=alt_text,
        )
        client.write(platforms=["x"], content=content)
    except ValidationError:
        pass
    assert transport.requests == []


def test_platform_lists_checked_before_give_the_checked_strings() -> None:
    """A list seen before is not checked again, and only ever gives plain strings back."""

    class Label(str):
        __slots__ = ()

    first = validate_platforms(["x", "bluesky"])
    assert validate_platforms(("x", "bluesky")) is first
    labelled = validate_platforms([Label("threads")])
    assert [type(p) for p in labelled] == [str]

    class LooksLikeX:
        def __hash__(self) -> int:
            return hash("x")

        def __eq__(self, other: object) -> bool:
            return True

    # Equal to a list seen before: what comes back is the checked tuple, never the object.
    assert validate_platforms(["x"]) == ("x",)
    assert [type(p) for p in validate_platforms([LooksLikeX()])] == [str]


def test_a_bad_platform_list_is_refused_every_time() -> None:
    """Nothing about a refused list is remembered: it is refused again."""
    for _ in range(2):
        with pytest.raises(ValidationError) as caught:
            validate_platforms(["x", "X"])
        assert caught.value.param == "platforms[1]"
    with pytest.raises(ValidationError, match="platform id string"):
        validate_platforms([["x"]])  # unhashable: checked, not looked up


def test_the_memory_of_checked_lists_is_bounded() -> None:
    """However many different lists a program sends, only so many are kept."""
    for n in range(_VALID_PLATFORM_LISTS_MAX + 50):
        validate_platforms([f"p{n}"])
    assert len(_VALID_PLATFORM_LISTS) <= _VALID_PLATFORM_LISTS_MAX


def _inside_itself() -> list[object]:
    items: list[object] = []
    items.append(items)
    return items


@pytest.mark.parametrize(
    ("kwargs", "param", "fragment"),
    [
        ({"content": {"text": "hi \ud800"}}, "content.text", "lone surrogate"),
        (
            {"content": {"text": "hi", "media": ["https://e.com/a.png"], "alt_text": ["\udfff"]}},
            "content.alt_text[0]",
            "lone surrogate",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"tags": {"a", "b"}}}},
            "options.myspace.tags",
            "not set",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"w": [1, float("inf")]}}},
            "options.myspace.w[1]",
            "finite number",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"w": {"v": Decimal("NaN")}}}},
            "options.myspace.w.v",
            "finite number",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"loop": _inside_itself()}}},
            "options.myspace.loop[0]",
            "inside itself",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"m": {(1, 2): "pair"}}}},
            "options.myspace.m",
            "key JSON cannot hold",
        ),
        (
            {"platforms": ["myspace"], "options": {"myspace": {"caption": "\ud83d"}}},
            "options.myspace.caption",
            "lone surrogate",
        ),
    ],
)
def test_what_cannot_be_sent_is_refused_by_write(
    kwargs: dict[str, Any], param: str, fragment: str
) -> None:
    """Text UTF-8 cannot hold and option values JSON cannot are refused before anything is sent."""
    error = check(**kwargs)
    assert error.param == param
    assert fragment in error.message


def test_the_body_is_encoded_once_when_checked(image: Path) -> None:
    """A write without local files carries its encoded body; one with files waits for URLs."""
    request = validate_write(
        platforms=["myspace"],
        content={"text": "Markets 📈"},
        options={"myspace": {"nested": [1, 2.5, None, {"ok": True}]}},
    )
    assert (
        request.encoded_body
        == (
            '{"platforms":["myspace"],"content":{"text":"Markets 📈"},'
            '"options":{"myspace":{"nested":[1,2.5,null,{"ok":true}]}}}'
        ).encode()
    )
    with_file = validate_write(platforms=["x"], content={"text": "hi", "media": [str(image)]})
    assert with_file.encoded_body is None


def test_a_refused_body_sends_nothing() -> None:
    """The check happens in write(): the transport never sees the request."""
    transport = MockTransport(lambda request: MockResponse(status_code=500))
    client = AsyncClient("key", base_url="http://127.0.0.1:1", transport=transport)
    with pytest.raises(ValidationError):
        client.write(platforms=["x"], content={"text": "\ud800"})
    assert transport.requests == []


@given(
    platforms=st.lists(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    text=st.text(),
)
def test_a_text_only_body_is_what_the_general_encoding_gives(
    platforms: list[str], text: str
) -> None:
    """The short path for text alone writes the same bytes as encoding the body's dicts."""
    assume(text.strip())
    request = validate_write(platforms=platforms, content={"text": text})
    general = encode_body(write_body(tuple(platforms), text, (), None, options={}, uploaded=None))
    assert request.encoded_body == general
    assert json.loads(general) == {"platforms": platforms, "content": {"text": text}}


def test_a_text_only_body_with_a_lone_surrogate_is_named() -> None:
    """Text alone takes the short path, and a lone surrogate in it is still named."""
    error = check(platforms=["x", "bluesky"], content={"text": "fine \udc80 not"})
    assert error.param == "content.text"
    assert "lone surrogate" in error.message
