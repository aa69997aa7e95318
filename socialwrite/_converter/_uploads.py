"""The answers of the upload calls: create, PUT, HEAD and complete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from .._errors import APIResponseValidationError, APIStatusError
from .._json import loads
from .._protocol import HEADER_REQUEST_ID, HEADER_UPLOAD_LENGTH, HEADER_UPLOAD_OFFSET

if TYPE_CHECKING:
    from .._transport import Response


MAX_UPLOAD_ANSWER = 1024 * 1024
"""The most bytes of an upload call's answer read: it is a small JSON object."""


@attrs.frozen(kw_only=True)
class UploadCreated:
    """A create's answer: either already ``complete`` (``url`` set) or where to send the bytes."""

    id: str
    status: str
    upload_url: str | None
    offset: int
    url: str | None


def _media_url(value: object, what: str, url: str) -> str:
    if not isinstance(value, str):
        msg = f"the upload answer's {what} is not a string"
        raise APIResponseValidationError(msg, method="POST", url=url)
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"the upload answer's {what} is not an absolute http(s) URL"
        raise APIResponseValidationError(msg, method="POST", url=url)
    return value


def _offset(value: object, size: int, what: str, method: str, url: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
        msg = f"{what} is {value!r}, not a byte offset between 0 and {size}"
        raise APIResponseValidationError(msg, method=method, url=url)
    return value


def decode_upload_answer(raw: bytes, response: Response, *, method: str, url: str) -> Any:
    """Decode the JSON of an upload call's successful answer (shape checked by the callers)."""
    try:
        return loads(raw)
    except ValueError:
        msg = f"the answer to {method} {url} is not JSON"
        raise APIResponseValidationError(
            msg,
            status_code=response.status_code,
            request_id=response.headers.get(HEADER_REQUEST_ID.lower()),
            method=method,
            url=url,
        ) from None


def decode_upload_created(data: object, size: int, *, status: int, url: str) -> UploadCreated:
    """Decode a create's answer (``POST /v1/media/uploads``)."""
    if not isinstance(data, dict):
        msg = "the create answer is not a JSON object"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    upload_id = data.get("id")
    state = data.get("status")
    if not isinstance(upload_id, str) or not isinstance(state, str):
        msg = "the create answer lacks its id or status"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    if state == "complete":
        media_url = _media_url(data.get("url"), "url", url)
        return UploadCreated(
            id=upload_id, status=state, upload_url=None, offset=size, url=media_url
        )
    offset = _offset(data.get("offset", 0), size, "the create answer's offset", "POST", url)
    if data.get("upload_url") is None:
        msg = "the create answer has no upload_url"
        raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
    upload_url = _media_url(data.get("upload_url"), "upload_url", url)
    return UploadCreated(id=upload_id, status=state, upload_url=upload_url, offset=offset, url=None)


def decode_upload_offset(data: object, size: int, *, method: str, url: str) -> int:
    """Decode the offset of a PUT's answer."""
    if not isinstance(data, dict):
        msg = f"the {method} answer is not a JSON object"
        raise APIResponseValidationError(msg, method=method, url=url)
    return _offset(data.get("offset"), size, f"the {method} answer's offset", method, url)


def decode_upload_head(headers: Mapping[str, str], size: int, *, url: str) -> int:
    """Decode where an upload stands from a HEAD's ``Upload-Offset`` and ``Upload-Length``."""
    length = headers.get(HEADER_UPLOAD_LENGTH.lower())
    if length is not None and length.strip() != str(size):
        msg = f"the server holds an upload of {length} bytes, not {size}"
        raise APIResponseValidationError(msg, method="HEAD", url=url)
    raw = headers.get(HEADER_UPLOAD_OFFSET.lower(), "")
    offset = int(raw) if raw.strip().isdigit() else None
    return _offset(offset, size, "Upload-Offset", "HEAD", url)


def upload_offset_of(error: APIStatusError, size: int, *, method: str, url: str) -> int:
    """The offset a 409 (``offset_mismatch``, ``incomplete_upload``) says to resume from."""
    offset = error.body.get("offset") if error.body else None
    return _offset(offset, size, "the offset", method, url)


def decode_upload_completed(data: object, *, url: str) -> str:
    """Decode a complete's answer: the media URL."""
    if not isinstance(data, dict):
        msg = "the complete answer is not a JSON object"
        raise APIResponseValidationError(msg, method="POST", url=url)
    return _media_url(data.get("url"), "url", url)
