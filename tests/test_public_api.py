"""The package's front door: the public names of api.md, complete and sorted."""

from __future__ import annotations

import socialwrite
import socialwrite.events


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and every name in it exists."""
    assert list(socialwrite.__all__) == sorted(socialwrite.__all__)
    for name in socialwrite.__all__:
        assert hasattr(socialwrite, name), name


def test_api_md_names_are_exported() -> None:
    """Every name api.md promises is importable from socialwrite."""
    promised = {
        "AsyncClient", "Client", "Content", "Media", "WriteResult", "PlatformResult",
        "SocialWriteError", "ValidationError", "MediaUploadError", "APIError",
        "APIConnectionError", "APITimeoutError", "APIResponseValidationError",
        "APIStatusError", "BadRequestError", "AuthenticationError", "PermissionDeniedError",
        "NotFoundError", "ConflictError", "UnprocessableEntityError", "RateLimitError",
        "InternalServerError", "preview", "events",
    }  # fmt: skip
    missing = promised - set(socialwrite.__all__)
    assert not missing


def test_events_module() -> None:
    """socialwrite.events exports every event class of api.md."""
    for name in (
        "UploadStarted", "UploadProgress", "UploadCompleted",
        "PlatformStatus", "PlatformResult", "WriteCompleted",
    ):  # fmt: skip
        assert name in socialwrite.events.__all__
    assert socialwrite.events.PlatformResult is socialwrite.PlatformResult


def test_version_is_lazy_metadata() -> None:
    """__version__ comes from the installed package's metadata."""
    assert socialwrite.__version__.count(".") >= 2
