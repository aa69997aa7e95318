"""The wire protocol's constants, held against the tables of docs/protocol.md.

``socialwrite._protocol`` is the one copy of the protocol's facts that the SDK
and the sandbox share. These tests read the published page, so a change to
either side without the other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socialwrite import _errors, _protocol

PAGE = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")


def _status_rows() -> dict[int, tuple[str, bool]]:
    rows: dict[int, tuple[str, bool]] = {}
    for line in PAGE.splitlines():
        match = re.fullmatch(r"\| ([0-9, ]+) \| `([a-z_]+)`[^|]* \| (yes|no)\b.*\|", line)
        if match:
            for status in match.group(1).split(","):
                rows[int(status)] = (match.group(2), match.group(3) == "yes")
    return rows


def test_the_page_has_the_status_table() -> None:
    """The parser finds every status of the page's error table, so the tests below read it."""
    statuses = {400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504}
    assert set(_status_rows()) == statuses


@pytest.mark.parametrize(("status", "row"), sorted(_status_rows().items()))
def test_each_status_has_the_pages_type_and_retry_rule(status: int, row: tuple[str, bool]) -> None:
    """Each status's error type and retry rule are the page's."""
    error_type, retried = row
    assert _protocol.ERROR_TYPES[status] == error_type
    assert _protocol.error_type_for(status) == error_type
    assert (status in _protocol.RETRYABLE_STATUSES) is retried


def test_each_type_maps_back_to_a_status_of_that_type() -> None:
    """An ``error`` event's type gives a status whose type is that type."""
    for error_type, status in _protocol.TYPE_STATUS.items():
        assert _protocol.ERROR_TYPES[status] == error_type
    assert set(_protocol.TYPE_STATUS) == set(_protocol.ERROR_TYPES.values())


@pytest.mark.parametrize("status", sorted(_status_rows()))
def test_each_status_has_an_error_class(status: int) -> None:
    """Every status of the table maps to a class of its own, not the generic one."""
    cls = _errors.status_error_class(status)
    assert cls is not _errors.APIStatusError
    assert issubclass(cls, _errors.APIStatusError)


def test_limits_are_the_pages() -> None:
    """The limits of one write are those the page states."""
    assert f"1 to {_protocol.MAX_PLATFORMS} unique lowercase ids" in PAGE
    assert f"at most {_protocol.MAX_MEDIA} |" in PAGE
    assert f"1 to {_protocol.IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII" in PAGE
    assert f"{_protocol.CREDIT_PER_SUCCESS} per platform that succeeded" in PAGE


def test_paths_and_headers_are_the_pages() -> None:
    """Every path and header name the SDK and sandbox use is on the page."""
    assert f"POST {_protocol.WRITE_PATH}" in PAGE
    assert f"POST {_protocol.UPLOADS_PATH}" in PAGE
    assert f"POST {_protocol.complete_path('{id}')}" in PAGE
    for header in (
        _protocol.HEADER_IDEMPOTENCY_KEY,
        _protocol.HEADER_LAST_EVENT_ID,
        _protocol.HEADER_REQUEST_ID,
        _protocol.HEADER_RETRY_AFTER,
        _protocol.HEADER_IDEMPOTENT_REPLAYED,
        _protocol.HEADER_UPLOAD_OFFSET,
        _protocol.HEADER_UPLOAD_LENGTH,
    ):
        assert f"`{header}" in PAGE, header
    assert f"`Accept: {_protocol.ACCEPT_STREAM}`" in PAGE


def test_events_states_and_codes_are_the_pages() -> None:
    """Event names, status states and result error codes match the page's lists."""
    named = set(re.findall(r"^event: ([a-z]+)$", PAGE, flags=re.MULTILINE))
    named |= set(re.findall(r"^- `([a-z]+)`: ", PAGE, flags=re.MULTILINE))
    assert named == set(_protocol.EVENT_NAMES)
    states = re.search(r"`state` is (`[a-z]+`,\s+`[a-z]+` or `[a-z]+`)", PAGE)
    assert states is not None
    assert re.findall(r"`([a-z]+)`", states.group(1)) == list(_protocol.STATUS_STATES)
    codes = re.search(r"`error_code` is stable and machine-readable: ([^.]+)\.", PAGE, re.DOTALL)
    assert codes is not None
    assert re.findall(r"`([a-z_]+)`", codes.group(1)) == list(_protocol.RESULT_ERROR_CODES)


@pytest.mark.parametrize(
    ("platform", "valid"),
    [
        ("x", True),
        ("instagram", True),
        ("google_business", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("9gag", False),
        ("my-platform", False),
        ("x.com", False),
        ("X", False),
        ("", False),
    ],
)
def test_one_platform_id_pattern(platform: str, valid: bool) -> None:
    """The one platform-id pattern: lowercase identifiers, as the page says."""
    assert bool(_protocol.PLATFORM_ID.fullmatch(platform)) is valid


@pytest.mark.parametrize("platform", ["9gag", "my-platform", "x.com"])
def test_the_sdk_and_the_sandbox_refuse_the_same_ids(platform: str) -> None:
    """An id the sandbox would answer ``invalid_platform`` is refused before any request."""
    from socialwrite import ValidationError
    from socialwrite._validate import validate_platforms
    from socialwrite.sandbox._protocol import ProtocolError
    from socialwrite.sandbox._validation import parse_write_request

    with pytest.raises(ValidationError, match=r"platforms\[0\]"):
        validate_platforms([platform])
    body = f'{{"platforms": ["{platform}"], "content": {{"text": "hi"}}}}'.encode()
    with pytest.raises(ProtocolError) as info:
        parse_write_request(body, "application/json")
    assert info.value.code == "invalid_platform"
