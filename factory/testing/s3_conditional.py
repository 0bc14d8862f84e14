"""Make local S3 (moto) evaluate a conditional write in the same step as the write, as S3 does.

What moto 5.2.5 already does like S3 (probed over HTTP against ``ThreadedMotoServer``):
``PutObject`` with ``If-None-Match: *`` on an existing key, ``PutObject``/``DeleteObject`` with
an ``If-Match`` ETag that differs from the current one answer ``412 PreconditionFailed``; an
``If-Match`` on a missing key (or a delete marker) answers ``404 NoSuchKey``
(moto/s3/responses.py, ``S3Response.put_object`` and ``delete_object``).

What it does not: the check and the write are two steps of a threaded server with nothing
between them, so two concurrent conditional writes of one key can both pass the check and
both succeed (two ``If-None-Match: *`` creators, or two ``If-Match`` takers of one ETag). S3
evaluates the condition as part of the write: ``If-None-Match`` "check[s] for the existence of
an object during the WRITE operation" (S3 User Guide, "How to prevent object overwrites with
conditional writes", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html),
and a conflicting concurrent operation is answered ``409 ConditionalRequestConflict``, never a
second success (botocore's S3 model, ``PutObjectRequest.IfMatch``/``IfNoneMatch``
documentation; status codes in the S3 API Reference, "Error responses",
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).

:func:`install` serialises moto's object-level writes (PUT, POST, DELETE on a key: PutObject,
CopyObject, UploadPart, CompleteMultipartUpload, DeleteObject) behind one process-wide lock,
so each check-and-write is atomic and concurrent conditional writers get exactly one winner
and ``412`` for the others. Reads are not serialised. Local AWS never answers ``409``: code
that handles it is tested with botocore's Stubber.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["PATCHED_HANDLERS", "install", "installed"]

#: moto's S3Response methods that handle a write to one key (moto/s3/responses.py, 5.2.5).
PATCHED_HANDLERS = ("_key_response_put", "_key_response_post", "_key_response_delete")

_WRITE_LOCK = threading.RLock()
_MARK = "__studio_catalog_atomic__"


def _atomic(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _WRITE_LOCK:
            return handler(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def installed() -> bool:
    """True when moto's key-write handlers run under the lock."""
    from moto.s3.responses import S3Response

    return all(getattr(getattr(S3Response, name), _MARK, False) for name in PATCHED_HANDLERS)


def install() -> None:
    """Patch moto's ``S3Response`` in this process (idempotent). moto's server runs in the
    same process as ``LocalAWS`` (``ThreadedMotoServer``), so the patch covers it."""
    from moto.s3.responses import S3Response

    for name in PATCHED_HANDLERS:
        handler = getattr(S3Response, name)
        if not getattr(handler, _MARK, False):
            setattr(S3Response, name, _atomic(handler))
