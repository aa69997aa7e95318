"""The models and the one converter: tolerant decoding, exact encoding."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialwrite import Content, Media, PlatformResult, ValidationError, WriteResult
from socialwrite._converter import (
    ResponseShapeError,
    converter,
    dumps,
    loads,
    parse_datetime,
    structure_platform_result,
    structure_write_result,
)
from socialwrite._converter._results import _checked_platform_result, _common_platform_result
from socialwrite._models import new_platform_result, new_write_result

SEED_ANSWER = """{"results": [
   {"platform": "x", "success": true, "post_id": "1234567890",
    "url": "https://x.com/user/status/1234567890", "error": null,
    "published_at": "2026-04-25T14:22:00Z"},
   {"platform": "instagram", "success": false, "post_id": null, "url": null,
    "error": "Instagram requires an image or a video", "error_code": "media_required"}],
 "credits_used": 0.0075}"""


def test_seed_answer_decodes() -> None:
    """The protocol's own example decodes to typed results with exact credits."""
    result = structure_write_result(loads(SEED_ANSWER), idempotency_key="k1")
    assert result.credits_used == Decimal("0.0075")
    assert result.idempotency_key == "k1"
    x, ig = result.results
    assert x.success is True
    assert x.published_at == datetime(2026, 4, 25, 14, 22, tzinfo=timezone.utc)
    assert x.error is None
    assert ig.error_code == "media_required"
    assert ig.published_at is None
    assert not result.ok
    assert result.succeeded == (x,)
    assert result.failed == (ig,)
    assert result["instagram"] is ig
    with pytest.raises(KeyError):
        result["bluesky"]


def test_write_result_round_trips_to_protocol_json() -> None:
    """Encoding a decoded answer gives back exactly the protocol's JSON."""
    original = json.loads(SEED_ANSWER)
    result = structure_write_result(loads(SEED_ANSWER))
    assert json.loads(result.to_json()) == original


def test_credits_stay_exact() -> None:
    """0.015 decodes to Decimal('0.015') and is written back as 0.015."""
    result = structure_write_result(loads('{"results": [], "credits_used": 0.015}'))
    assert result.credits_used == Decimal("0.015")
    assert str(result.credits_used) == "0.015"
    assert '"credits_used":0.015' in result.to_json()
    assert result.to_dict()["credits_used"] == Decimal("0.015")


def test_credits_accept_integers_and_strings() -> None:
    """Credits may arrive as an integer or a decimal string."""
    assert structure_write_result({"results": [], "credits_used": 0}).credits_used == 0
    assert structure_write_result({"results": [], "credits_used": "1.5"}).credits_used == Decimal(
        "1.5"
    )


def test_unknown_fields_are_kept() -> None:
    """Fields this version does not know survive decoding and encoding."""
    data = {
        "results": [{"platform": "x", "success": True, "thread_id": "t1", "post_id": "1"}],
        "credits_used": 0,
        "batch": {"id": "b1"},
    }
    result = structure_write_result(data)
    assert result.results[0].extra == {"thread_id": "t1"}
    assert result.extra == {"batch": {"id": "b1"}}
    encoded = result.to_dict()
    assert encoded["batch"] == {"id": "b1"}
    assert encoded["results"][0]["thread_id"] == "t1"


def test_optional_fields_may_be_absent() -> None:
    """A result with only platform and success decodes, the rest None."""
    result = structure_platform_result({"platform": "x", "success": False})
    assert result == PlatformResult(platform="x", success=False)


def test_index_of_a_result_event_is_not_kept_as_extra() -> None:
    """A streamed result's index is the stream's business, not an unknown field."""
    result = structure_platform_result({"platform": "x", "success": True, "index": 0})
    assert result.extra == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"results": {}}, "results must be a list"),
        ({"results": [{"platform": 1, "success": True}]}, "platform must be a string"),
        ({"results": [{"platform": "x", "success": "true"}]}, "success must be true or false"),
        ({"results": [{"platform": "x", "success": True, "url": 5}]}, "url must be a string"),
        (
            {"results": [{"platform": "x", "success": True, "published_at": "yesterday"}]},
            "not an ISO 8601",
        ),
        ({"results": [], "credits_used": "lots"}, "not a decimal"),
        ({"results": [], "credits_used": True}, "must be a number"),
        ({"results": [], "credits_used": "NaN"}, "finite"),
    ],
)
def test_wrong_shapes_are_refused(data: Any, message: str) -> None:
    """A field present with the wrong type is an error, never a silent coercion."""
    with pytest.raises(ResponseShapeError, match=message):
        structure_write_result(data)


def test_timestamps_are_timezone_aware() -> None:
    """Z, offsets and naive timestamps all give aware datetimes."""
    assert parse_datetime("2026-04-25T14:22:00Z").tzinfo is timezone.utc
    offset = parse_datetime("2026-04-25T16:22:00+02:00")
    assert offset.utcoffset() == timedelta(hours=2)
    assert offset == datetime(2026, 4, 25, 14, 22, tzinfo=timezone.utc)
    assert parse_datetime("2026-04-25T14:22:00").tzinfo is timezone.utc
    assert parse_datetime("2026-04-25T14:22:00.123456Z").microsecond == 123456


def test_the_converter_dispatches_to_the_hooks() -> None:
    """converter.structure and unstructure use the registered hooks."""
    result = converter.structure(json.loads(SEED_ANSWER), WriteResult)
    assert isinstance(result, WriteResult)
    assert converter.unstructure(result)["results"][0]["published_at"] == "2026-04-25T14:22:00Z"


def test_models_are_frozen_and_keyword_only() -> None:
    """Every public model is immutable and takes keywords only."""
    for cls in (Content, Media, PlatformResult, WriteResult):
        assert attrs.has(cls)
        assert all(field.kw_only for field in attrs.fields(cls))
    content = Content(text="hi")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        content.text = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Content("hi")  # type: ignore[call-arg]


def test_content_normalises_media_and_alt_text() -> None:
    """A single media item or alt text becomes a tuple; lists become tuples."""
    assert Content(media="a.jpg").media == ("a.jpg",)
    assert Content(media=["a.jpg", "b.jpg"]).media == ("a.jpg", "b.jpg")
    assert Content(alt_text=["one"]).alt_text == ("one",)
    assert Content(alt_text="one").alt_text == "one"
    with pytest.raises(ValidationError) as info:
        Content(media=5)  # type: ignore[arg-type]
    assert info.value.param == "content.media"


def test_dumps_writes_decimals_as_numbers() -> None:
    """dumps writes Decimal as a JSON number, not a string."""
    assert dumps({"a": Decimal("0.0075")}) == '{"a":0.0075}'


def test_results_are_hashable_and_comparable() -> None:
    """Results compare by value, and the request metadata does not affect equality."""
    a = structure_write_result(loads(SEED_ANSWER), request_id="r1")
    b = attrs.evolve(a, request_id="r2", retries=1)
    assert a == b
    assert hash(a.results[0]) == hash(b.results[0])


def test_first_comment_has_its_own_outcome() -> None:
    """A result's first_comment decodes to a CommentResult and encodes back as it came."""
    data = {
        "results": [
            {
                "platform": "instagram",
                "success": True,
                "post_id": "1",
                "url": "https://www.instagram.com/p/a/",
                "error": None,
                "first_comment": {
                    "success": False,
                    "comment_id": None,
                    "error": "too many hashtags",
                    "error_code": "comment_failed",
                },
            }
        ],
        "credits_used": 0.0075,
    }
    result = structure_write_result(loads(json.dumps(data)))
    comment = result["instagram"].first_comment
    assert comment is not None
    assert comment.success is False
    assert comment.error_code == "comment_failed"
    assert result["instagram"].success is True
    assert result["instagram"].extra == {}
    assert json.loads(result.to_json()) == data
    with pytest.raises(ResponseShapeError, match=r"first_comment\.success"):
        structure_platform_result({"platform": "x", "success": True, "first_comment": {}})


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(
        [
            "2026-04-25T14:22:00Z",
            "2026-04-25T14:22:00z",
            "2026-04-25T16:22:00+02:00",
            "2026-04-25T14:22:00",
            " 2026-04-25T14:22:00Z ",
            "2026-04-25",
            "20260425T142200Z",
            "yesterday",
        ]
    ),
)
_result_fields = st.sampled_from(
    ["platform", "success", "post_id", "url", "error", "error_code", "published_at", "index"]
)


@given(
    data=st.dictionaries(st.one_of(_result_fields, st.text(max_size=4)), _json_scalars, max_size=9),
    base=st.fixed_dictionaries(
        {"platform": st.sampled_from(["x", "bluesky"]), "success": st.booleans()}
    ),
)
def test_the_quick_decoding_agrees_with_the_checked_one(
    data: dict[str, Any], base: dict[str, Any]
) -> None:
    """Whatever the quick path decodes, the field-by-field path decodes the same way."""
    for candidate in (data, {**base, **data}, {**data, **base}):
        quick = _common_platform_result(candidate)
        try:
            checked = _checked_platform_result(candidate, "result")
        except ResponseShapeError:
            assert quick is None
            continue
        if quick is not None:
            assert quick == checked
            assert quick.extra == checked.extra
            assert quick.published_at == checked.published_at
            assert (quick.published_at is None) or quick.published_at.tzinfo is not None


def test_results_in_the_common_shape_take_the_quick_path() -> None:
    """A result with exact JSON types and no first comment is decoded by the quick path."""
    for item in json.loads(SEED_ANSWER)["results"]:
        quick = _common_platform_result(item)
        assert quick is not None
        assert quick == _checked_platform_result(item, "result")
    assert _common_platform_result({"platform": "x", "success": True, "first_comment": {}}) is None


def test_the_decoders_builders_make_what_the_constructors_make() -> None:
    """The decoder's quick builders set every field, exactly as the classes' own __init__."""
    published = datetime(2026, 4, 25, 14, 22, tzinfo=timezone.utc)
    fields: dict[str, Any] = {
        "platform": "x",
        "success": True,
        "post_id": "1",
        "url": "https://x.com/a/status/1",
        "error": None,
        "error_code": "none",
        "published_at": published,
        "first_comment": None,
        "extra": {"new": 1},
    }
    built = new_platform_result(*fields.values())
    assert built == PlatformResult(**fields)
    assert vars(built) == fields
    assert list(fields) == [f.name for f in attrs.fields(PlatformResult)]
    totals: dict[str, Any] = {
        "results": (built,),
        "credits_used": Decimal("0.015"),
        "idempotency_key": "sw-1",
        "request_id": "req_1",
        "retries": 2,
        "extra": {},
    }
    whole = new_write_result(*totals.values())
    assert whole == WriteResult(**totals)
    assert vars(whole) == totals
    assert list(totals) == [f.name for f in attrs.fields(WriteResult)]
    # Frozen all the same.
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.url = "elsewhere"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        whole.retries = 0  # type: ignore[misc]
    assert attrs.evolve(whole, retries=3).retries == 3
