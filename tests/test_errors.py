"""The error tree and its one status mapping."""

from __future__ import annotations

import pytest

import socialwrite
from socialwrite._errors import status_error_class


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, socialwrite.BadRequestError),
        (401, socialwrite.AuthenticationError),
        (402, socialwrite.InsufficientCreditsError),
        (403, socialwrite.PermissionDeniedError),
        (404, socialwrite.NotFoundError),
        (409, socialwrite.ConflictError),
        (413, socialwrite.PayloadTooLargeError),
        (415, socialwrite.UnsupportedMediaTypeError),
        (422, socialwrite.UnprocessableEntityError),
        (429, socialwrite.RateLimitError),
        (500, socialwrite.InternalServerError),
        (502, socialwrite.InternalServerError),
        (503, socialwrite.InternalServerError),
        (504, socialwrite.InternalServerError),
        (418, socialwrite.APIStatusError),
        (302, socialwrite.APIStatusError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[socialwrite.APIStatusError]) -> None:
    """Every status of the protocol's table has its class."""
    assert status_error_class(status) is cls


def test_tree_shape() -> None:
    """The hierarchy is the one api.md draws."""
    assert issubclass(socialwrite.ValidationError, ValueError)
    assert issubclass(socialwrite.ValidationError, socialwrite.SocialWriteError)
    assert issubclass(socialwrite.MediaUploadError, socialwrite.SocialWriteError)
    assert issubclass(socialwrite.APITimeoutError, socialwrite.APIConnectionError)
    assert issubclass(socialwrite.APIConnectionError, socialwrite.APIError)
    assert issubclass(socialwrite.APIResponseValidationError, socialwrite.APIError)
    assert issubclass(socialwrite.RateLimitError, socialwrite.APIStatusError)
    assert issubclass(socialwrite.PayloadTooLargeError, socialwrite.BadRequestError)


def test_status_error_text_names_code_param_and_request_id() -> None:
    """str() of a status error carries what a support request needs."""
    error = socialwrite.BadRequestError(
        "platform 'x' is listed twice",
        status_code=400,
        code="duplicate_platform",
        param="platforms[1]",
        request_id="req_1",
    )
    text = str(error)
    assert "400" in text
    assert "duplicate_platform" in text
    assert "platforms[1]" in text
    assert "req_1" in text
    assert "BadRequestError" in repr(error)


def test_validation_error_names_the_field() -> None:
    """A ValidationError's text starts with the field it is about."""
    error = socialwrite.ValidationError("must not be empty", param="platforms")
    assert str(error) == "platforms: must not be empty"
    assert error.param == "platforms"
    assert error.message == "must not be empty"


def test_media_upload_error_carries_source_and_cause() -> None:
    """MediaUploadError names the file and keeps its cause."""
    cause = OSError("disk on fire")
    error = socialwrite.MediaUploadError("upload failed", source="chart.jpg", cause=cause)
    assert error.source == "chart.jpg"
    assert error.cause is cause
