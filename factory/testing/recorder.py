"""Record every AWS operation that code under test sends through boto3.

``studio-factory audit`` proves that the publisher's role may call every operation the publisher
calls (``factory/audit/derived/persona_jobs.py``). That list of operations must come from the
code, not from memory, so the test suite drives the publisher against local AWS inside an
:class:`OperationRecorder` and compares what was recorded with the committed data file
``factory/audit/data/publisher_operations.json``.

How it hooks in: botocore emits ``before-parameter-build.<service>.<operation>`` once per API
call (before retries, so a throttled call is recorded once), with the operation model and the
caller's parameters. While a recorder is active, every ``boto3.Session`` created gets a handler
for that event, so code that builds its own sessions (``factory.aws.Clients``) is
recorded without any change to it. Sessions can also be hooked explicitly with
:meth:`OperationRecorder.install`.

Not recorded: boto3's *default* session (``boto3.client(...)``), which the local-AWS kit itself
uses (``LocalAWS.client`` for test set-up, the Service Catalog stand-in fetching templates from
S3 the way the real service does); those calls are not made by the code under test.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import boto3.session

__all__ = ["EVENT", "OperationRecorder", "RecordedCall"]

#: Emitted by ``BaseClient._make_api_call`` (via ``_emit_api_params``) once per API call.
EVENT = "before-parameter-build"


@dataclass(frozen=True)
class RecordedCall:
    """One API call: botocore service name (``servicecatalog``), operation (``CreateProduct``),
    the caller's parameters (deep copy) and the client's region."""

    service: str
    operation: str
    params: Mapping[str, Any]
    region: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.operation)


class OperationRecorder:
    """Context manager recording ``(service, operation, params)`` of every boto3 call.

    >>> with OperationRecorder() as recorder:            # doctest: +SKIP
    ...     boto3.Session(region_name="us-east-1").client("s3").list_buckets()
    >>> recorder.operations()                            # doctest: +SKIP
    [{'service': 's3', 'operation': 'ListBuckets'}]
    """

    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._active = False
        self._original_init: Any = None

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> OperationRecorder:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Hook every ``boto3.Session`` created from now on (until :meth:`stop`)."""
        if self._original_init is not None:
            return
        original = boto3.session.Session.__init__
        recorder = self

        def init_and_install(session: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            recorder.install(session)

        self._original_init = original
        boto3.session.Session.__init__ = init_and_install  # type: ignore[method-assign]
        self._active = True

    def stop(self) -> None:
        """Stop recording. Sessions hooked earlier keep a handler that records nothing."""
        self._active = False
        if self._original_init is not None:
            boto3.session.Session.__init__ = self._original_init  # type: ignore[method-assign]
            self._original_init = None

    def install(self, session: boto3.session.Session) -> None:
        """Record the calls of clients created from ``session`` after this call."""

        def handler(
            params: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any
        ) -> None:
            if self._active and session is not boto3.DEFAULT_SESSION:
                self._record(model, params, context)

        session.events.register(EVENT, handler)

    def _record(self, model: Any, params: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        call = RecordedCall(
            service=str(model.service_model.service_name),
            operation=str(model.name),
            params=_copy(params),
            region=(context or {}).get("client_region"),
        )
        with self._lock:
            self._calls.append(call)

    # ----------------------------------------------------------------- results

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def __iter__(self) -> Iterator[RecordedCall]:
        return iter(self.calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def operations(self) -> list[dict[str, str]]:
        """Distinct operations, sorted: the shape of ``publisher_operations.json``."""
        keys = sorted({call.key for call in self.calls})
        return [{"service": service, "operation": operation} for service, operation in keys]


def _copy(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Deep copy, except request bodies (bytes/streams), which are recorded by type only."""
    copied: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, (bytes, bytearray)) or hasattr(value, "read"):
            copied[name] = f"<{type(value).__name__}>"
        else:
            copied[name] = copy.deepcopy(value)
    return copied
