"""The ONE home of decoding what the server sent; the one cattrs converter is registered here.

Strict about what we send, tolerant about what we receive: unknown fields of an
answer are kept in ``extra``, optional fields may be absent, results are matched
to platforms by ``platform``, but a field that is present with the wrong type is
an error (``APIResponseValidationError`` at the call site), never a silent
coercion (``"false"`` is not ``True``).

One module per kind of answer:

* ``_results``: a platform's result and the aggregate (the JSON answer, and
  the ``done`` event's data); the cattrs converter and its hooks.
* ``_events``: the streamed ``status`` and ``result`` events, and the status an
  ``error`` event stands for.
* ``_uploads``: the answers of the upload calls.
* ``_error_bodies``: error answers of every shape (the protocol's, flat bodies,
  HTML pages, redirects), and the clean text of what a server wrote.
"""

from __future__ import annotations

from .._json import dumps, encode_body, json_string, loads
from ._error_bodies import (
    MESSAGE_LIMIT,
    TEXT_LIMIT,
    TEXT_SCAN,
    clean_text,
    error_from_body,
    printable,
    reason_phrase,
    redirect_error,
)
from ._events import (
    decode_result_event,
    decode_status_event,
    error_event_status,
    event_index,
)
from ._results import (
    MAX_CREDITS,
    MISSING_RESULT,
    ResponseShapeError,
    converter,
    match_results,
    missing_result,
    parse_datetime,
    redact_json,
    structure,
    structure_platform_result,
    structure_write_result,
)
from ._uploads import (
    MAX_UPLOAD_ANSWER,
    UploadCreated,
    decode_upload_answer,
    decode_upload_completed,
    decode_upload_created,
    decode_upload_head,
    decode_upload_offset,
    upload_offset_of,
)

__all__ = [
    "MAX_CREDITS",
    "MAX_UPLOAD_ANSWER",
    "MESSAGE_LIMIT",
    "MISSING_RESULT",
    "TEXT_LIMIT",
    "TEXT_SCAN",
    "ResponseShapeError",
    "UploadCreated",
    "clean_text",
    "converter",
    "decode_result_event",
    "decode_status_event",
    "decode_upload_answer",
    "decode_upload_completed",
    "decode_upload_created",
    "decode_upload_head",
    "decode_upload_offset",
    "dumps",
    "encode_body",
    "error_event_status",
    "error_from_body",
    "event_index",
    "json_string",
    "loads",
    "match_results",
    "missing_result",
    "parse_datetime",
    "printable",
    "reason_phrase",
    "redact_json",
    "redirect_error",
    "structure",
    "structure_platform_result",
    "structure_write_result",
    "upload_offset_of",
]
