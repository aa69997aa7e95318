"""Error answers of every shape real servers send, decoded in the one place (the converter)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import socialwrite
from socialwrite._converter import (
    TEXT_LIMIT,
    clean_text,
    error_from_body,
    reason_phrase,
    redirect_error,
)
from socialwrite._errors import format_seconds
from socialwrite._transport import read_prefix
from socialwrite._transport._mock import MockResponse

URL = "https://api.example.com/v1/social/write"
KEY = "sk_live_0123456789abcdef"

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title>"
    b"<style>body { width: 35em; margin: 0 auto; font-family: Tahoma; }</style>"
    b"<script>window.dataLayer = [];</script></head>\r\n"
    b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"<!-- a comment the page keeps for itself -->\r\n</body>\r\n</html>\r\n"
)


def decode(
    status: int,
    body: Any,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> socialwrite.APIStatusError:
    """The error the converter makes of ``body`` (bytes as is, anything else as JSON)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_body(
        status,
        raw,
        request_id=request_id,
        retry_after=retry_after,
        method="POST",
        url=URL,
        redact=lambda text: text.replace(KEY, "[redacted]"),
    )


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        pytest.param(
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "duplicate_platform",
                    "message": "platform 'x' is listed twice",
                    "param": "platforms[1]",
                }
            },
            socialwrite.BadRequestError,
            "duplicate_platform",
            "platform 'x' is listed twice",
            id="protocol",
        ),
        pytest.param(
            429,
            {"error": "rate_limited", "message": "slow down"},
            socialwrite.RateLimitError,
            "rate_limited",
            "slow down",
            id="flat-code-and-message",
        ),
        pytest.param(
            429,
            {"error": "rate_limited"},
            socialwrite.RateLimitError,
            "rate_limited",
            "Too Many Requests",
            id="flat-code-alone",
        ),
        pytest.param(
            401,
            {"error": "Invalid API key provided"},
            socialwrite.AuthenticationError,
            None,
            "Invalid API key provided",
            id="flat-error-is-a-sentence",
        ),
        pytest.param(
            400, {"message": "text is too long"}, socialwrite.BadRequestError, None,
            "text is too long", id="message-only",
        ),
        pytest.param(
            400,
            {"code": "bad_text", "message": "text is too long"},
            socialwrite.BadRequestError,
            "bad_text",
            "text is too long",
            id="flat-code-field",
        ),
        pytest.param(
            404, {"detail": "Not Found"}, socialwrite.NotFoundError, None, "Not Found",
            id="fastapi-string",
        ),
        pytest.param(
            422,
            {
                "detail": [
                    {"loc": ["body", "platforms"], "msg": "Field required", "type": "missing"},
                    {"loc": ["body", "content", "text"], "msg": "Input should be a string"},
                ]
            },
            socialwrite.UnprocessableEntityError,
            None,
            "body.platforms: Field required; body.content.text: Input should be a string",
            id="fastapi-list",
        ),
        pytest.param(
            401,
            {"error": "invalid_token", "error_description": "The access token expired"},
            socialwrite.AuthenticationError,
            "invalid_token",
            "The access token expired",
            id="oauth",
        ),
        pytest.param(
            429,
            {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
            socialwrite.RateLimitError,
            "88",
            "Rate limit exceeded",
            id="errors-list",
        ),
        pytest.param(
            402,
            {"error": "insufficient_credits", "message": "0 credits left"},
            socialwrite.InsufficientCreditsError,
            "insufficient_credits",
            "0 credits left",
            id="402",
        ),
        pytest.param(
            403,
            {"type": "about:blank", "title": "Forbidden", "detail": "Your plan has no X access"},
            socialwrite.PermissionDeniedError,
            None,
            "Your plan has no X access",
            id="problem-json",
        ),
        pytest.param(
            500, {"error": {"type": "api_error"}}, socialwrite.InternalServerError, None,
            "Internal Server Error", id="type-only",
        ),
        pytest.param(
            400, {"status": "fail"}, socialwrite.BadRequestError, None, '{"status": "fail"}',
            id="unknown-fields-shown",
        ),
        pytest.param(400, {}, socialwrite.BadRequestError, None, "Bad Request", id="empty-object"),
        pytest.param(
            400, "just words", socialwrite.BadRequestError, None, "just words", id="json-string"
        ),
        pytest.param(
            502, NGINX_502, socialwrite.InternalServerError, None, "502 Bad Gateway nginx",
            id="nginx-html",
        ),
        pytest.param(
            503, b"Service Unavailable\n", socialwrite.InternalServerError, None,
            "Service Unavailable", id="plain-text",
        ),
        pytest.param(
            504, b"", socialwrite.InternalServerError, None, "Gateway Timeout", id="empty"
        ),
        pytest.param(599, b"", socialwrite.InternalServerError, None, "HTTP 599", id="no-phrase"),
        pytest.param(
            418, b"[" * 100_000, socialwrite.APIStatusError, None, "[" * (TEXT_LIMIT - 1) + "…",
            id="json-too-deep",
        ),
    ],
)  # fmt: skip
def test_every_shape_gives_its_class_code_and_message(
    status: int,
    body: Any,
    cls: type[socialwrite.APIStatusError],
    code: str | None,
    message: str,
) -> None:
    """Nested, flat, FastAPI, OAuth, problem+json, errors lists, HTML and text bodies."""
    error = decode(status, body)
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code
    assert error.message == message
    assert str(error).startswith(f"[{status}{f' {code}' if code else ''}] {message}")


def test_the_protocols_body_keeps_type_param_and_body() -> None:
    """The protocol's own shape still gives every field, and the whole body."""
    body = {
        "error": {
            "type": "invalid_request_error",
            "code": "duplicate_platform",
            "message": "platform 'x' is listed twice",
            "param": "platforms[1]",
        }
    }
    error = decode(400, body, request_id="req_1")
    assert (error.type, error.param, error.request_id) == (
        "invalid_request_error",
        "platforms[1]",
        "req_1",
    )
    assert error.body == body


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ({"error": "rate_limited", "request_id": "req_top"}, None, "req_top"),
        ({"error": {"code": "x", "request_id": "req_inner"}}, None, "req_inner"),
        ({"error": {"code": "x", "request_id": "req_inner"}}, "req_header", "req_header"),
        ({"message": "m", "request_id": 12345}, None, "12345"),
        ({"message": "m"}, None, None),
    ],
)
def test_request_id_comes_from_the_header_else_the_body(
    body: dict[str, Any], header: str | None, expected: str | None
) -> None:
    """Without an X-Request-Id header, a request_id in the body (top level or error) is used."""
    assert decode(400, body, request_id=header).request_id == expected


def test_an_html_page_keeps_its_heading_and_loses_styles_scripts_and_markup() -> None:
    """The <h1> text stays; <style>, <script>, the title and every tag go."""
    error = decode(502, NGINX_502)
    assert "502 Bad Gateway" in error.message
    for gone in ("<", "width", "dataLayer", "comment", "\n"):
        assert gone not in error.message


def test_a_page_with_only_a_title_shows_the_title() -> None:
    """A page whose body is empty says what its title says."""
    page = b"<html><head><title>Down for maintenance</title></head><body></body></html>"
    assert decode(503, page).message == "Down for maintenance"


def test_html_entities_are_decoded() -> None:
    """&amp; and friends become the characters they stand for."""
    assert decode(500, b"<p>Tom &amp; Jerry&#39;s</p>").message == "Tom & Jerry's"


def test_a_long_page_is_cut_on_a_character_boundary() -> None:
    """At most 200 characters, never half a UTF-8 character, with an ellipsis."""
    body = "é".encode() * 150 + "😀".encode() * 150
    message = decode(500, body).message
    assert len(message) == TEXT_LIMIT
    assert message.endswith("…")
    assert "\ufffd" not in message
    assert set(message[:-1]) <= {"é", "😀"}


def test_bytes_that_are_not_utf8_are_replaced_not_fatal() -> None:
    """A body in another encoding gives replacement characters, not a decode error."""
    error = decode(500, "Erreur: réessayez".encode("latin-1"))
    assert error.message == "Erreur: r\ufffdessayez"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mred\x1b[0m alert", "red alert"),
        ("\x1b]0;owned title\x07after", "after"),
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("bell\x07 nul\x00 del\x7f c1\x9b2J", "bell nul del c12J"),
        ("line one\r\nline two\tand\x0bthree", "line one line two and three"),
        ("safe\u202egnp.exe", "safegnp.exe"),
        ("a\u2028b", "a b"),
    ],
)
def test_server_text_carries_no_escape_or_control_characters(text: str, expected: str) -> None:
    """Terminal escapes, C0/C1 controls and bidi overrides never reach a message."""
    assert clean_text(text, 100) == expected
    assert decode(400, {"message": text}).message == expected
    assert decode(400, text.encode()).message == expected


def test_every_field_from_the_server_is_cleaned() -> None:
    """code, param, type and request_id are cleaned like the message."""
    body = {
        "error": {
            "type": "x\x1b[2J",
            "code": "c\x00",
            "message": "m",
            "param": "p\n1",
            "request_id": "r\x07",
        }
    }
    error = decode(400, body)
    assert (error.type, error.code, error.param, error.request_id) == ("x", "c", "p 1", "r")


def test_a_long_json_message_is_cut() -> None:
    """A message of a megabyte is cut to a readable length."""
    message = decode(400, {"message": "word " * 200_000}).message
    assert len(message) <= 1000
    assert message.endswith("…")


def test_the_key_is_redacted_after_decoding_and_before_cutting() -> None:
    """An escaped echo of the key, or one that a cut would split, never shows."""
    escaped = json.dumps({"message": f"bad key {KEY}"}, ensure_ascii=True).replace(
        "sk_", "\\u0073k_"
    )
    assert KEY not in decode(401, escaped.encode()).message
    assert "[redacted]" in decode(401, escaped.encode()).message
    split = "x" * 990 + KEY
    message = decode(401, {"message": split}).message
    assert KEY[:8] not in message
    entity = decode(401, f"<p>{KEY[:2]}&#95;{KEY[3:]}</p>".encode()).message
    assert entity == "[redacted]"


def test_rate_limit_text_says_when_to_retry() -> None:
    """str() of a RateLimitError with a known Retry-After says how long to wait."""
    error = decode(429, {"error": "rate_limited", "message": "slow down"}, retry_after=120.0)
    assert str(error) == "[429 rate_limited] slow down (retry after 120 s)"
    error = decode(429, {"message": "slow down"}, retry_after=1.5, request_id="req_9")
    assert str(error) == "[429] slow down (retry after 1.5 s) (request id: req_9)"
    assert "retry after" not in str(decode(429, {"message": "slow down"}))
    # Another status with a Retry-After does not say it: it was retried already.
    assert "retry after" not in str(decode(503, {"message": "busy"}, retry_after=2.0))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(120.0, "120"), (1.5, "1.5"), (0.25, "0.25"), (2.0, "2"), (0.0, "0"), (12.7, "13")],
)
def test_seconds_are_shown_as_a_person_reads_them(seconds: float, text: str) -> None:
    """Whole seconds without decimals, fractions only when they matter."""
    assert format_seconds(seconds) == text


def test_reason_phrases() -> None:
    """Known statuses have their phrase; unknown ones say their number."""
    assert reason_phrase(502) == "Bad Gateway"
    assert reason_phrase(402) == "Payment Required"
    assert reason_phrase(599) == "HTTP 599"


def test_a_redirect_names_its_status_and_target_without_its_query() -> None:
    """A 3xx error says where it pointed (resolved, query and fragment hidden) and what to do."""
    error = redirect_error(
        302, "https://login.example.com/sso?token=s3cret#x", request_id="req_3", method="POST",
        url=URL,
    )  # fmt: skip
    assert type(error) is socialwrite.APIStatusError
    assert error.status_code == 302
    assert error.request_id == "req_3"
    assert error.message == (
        "the server answered 302 Found, a redirect to https://login.example.com/sso, which the "
        "SDK does not follow (the API key must not travel); check base_url"
    )
    assert "s3cret" not in str(error)
    relative = redirect_error(301, "/v2/social/write", request_id=None, method="POST", url=URL)
    assert "a redirect to https://api.example.com/v2/social/write" in relative.message
    missing = redirect_error(307, None, request_id=None, method="POST", url=URL)
    assert "307 Temporary Redirect, a redirect without a Location" in missing.message
    hostile = redirect_error(302, "http://[bad\x1b[2J", request_id=None, method="POST", url=URL)
    assert "\x1b" not in hostile.message


@pytest.mark.anyio
async def test_read_prefix_reads_at_most_its_limit_and_says_if_more_followed() -> None:
    """A prefix of any body, without raising; the rest is left unread."""
    served = 0

    def chunks() -> Any:
        nonlocal served
        for _ in range(100):
            served += 1
            yield b"x" * 1000

    data, more = await read_prefix(MockResponse(body=chunks()), 2500)
    assert (len(data), more) == (2500, True)
    assert served == 3
    assert await read_prefix(MockResponse(body=b"abc"), 3) == (b"abc", False)
    assert await read_prefix(MockResponse(body=[b"ab", b"c"]), 10) == (b"abc", False)
    assert await read_prefix(MockResponse(body=b""), 10) == (b"", False)
