"""The HTTP front end: AWS JSON 1.1 on ``POST /`` plus ``/_standin/`` control routes."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .backend import ServiceCatalogBackend
from .errors import ServiceCatalogError, ShapeMismatchError
from .state import DEFAULT_REGION

TARGET_PREFIX = "AWS242ServiceCatalogService"

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

CONTROL_PREFIX = "/_standin/"

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/")


_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/[a-z0-9-]+/aws4_request,"
    r"\s*SignedHeaders=[a-z0-9;.-]+,\s*Signature=[0-9a-f]+$"
)


def check_signed(authorization: str | None) -> None:
    """Refuse unsigned and malformed requests before anything else, as AWS does.

    API reference, Common Errors: MissingAuthenticationToken ("The request must contain either a
    valid (registered) AWS access key ID or X.509 certificate", HTTP 403) and
    IncompleteSignature ("The request signature does not conform to AWS standards", HTTP 400).
    JSON-protocol services name them with the ``Exception`` suffix in ``__type``. The signature
    itself is not verified: any access key is accepted.
    """
    if not authorization:
        raise ServiceCatalogError(
            "MissingAuthenticationTokenException", "Missing Authentication Token", 403
        )
    if not _SIGV4.match(authorization):
        raise ServiceCatalogError(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters (AWS4-HMAC-SHA256).",
        )


def region_from_authorization(header: str | None) -> str:
    """The region in a SigV4 ``Authorization`` header's credential scope (default us-east-1)."""
    match = _CREDENTIAL_SCOPE.search(header or "")
    return match["region"] if match else DEFAULT_REGION


class _StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: ServiceCatalogBackend) -> None:
        super().__init__(address, _RequestHandler)
        self.backend = backend


class _RequestHandler(BaseHTTPRequestHandler):
    """JSON 1.1 front end plus the ``/_standin/`` control endpoints."""

    # HTTP/1.1 keeps botocore's pooled connections alive; every response sets Content-Length.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle + delayed ACK
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _StandinHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (stats are available from the backend)."""

    # ----------------------------------------------------------------- routing

    def do_GET(self) -> None:
        routes: dict[str, Callable[[], Any]] = {
            "/_standin/health": lambda: {"ok": True},
            "/_standin/stats": self.server.backend.stats,
            "/_standin/config": self.server.backend.config,
        }
        route = routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send_json(404, {"__type": "NotFound", "Message": f"No route {self.path}"})
        else:
            self._send_json(200, route())

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control(self.path[len(CONTROL_PREFIX) :], body)
        elif self.path.startswith("/service/"):
            message = "The stand-in speaks awsJson1_1 only, not smithy-rpc-v2-cbor."
            self._send_json(400, {"__type": "UnsupportedProtocolException", "Message": message})
        else:
            self._aws(body)

    def _control(self, action: str, body: bytes) -> None:
        backend = self.server.backend
        try:
            if action == "config":
                self._send_json(200, backend.configure(**_config_kwargs(body)))
            elif action in ("stats/reset", "reset_stats"):
                backend.reset_stats()
                self._send_json(200, backend.stats())
            elif action == "reset":
                backend.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"__type": "NotFound", "Message": f"No control {action}"})
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"__type": "BadConfig", "Message": str(exc)})

    def _aws(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        try:
            if prefix != TARGET_PREFIX or not operation:
                raise ServiceCatalogError(
                    "UnknownOperationException", f"Unrecognised X-Amz-Target {target!r}."
                )
            check_signed(self.headers.get("Authorization"))
            params = _parse_request_body(body)
            region = region_from_authorization(self.headers.get("Authorization"))
            response = self.server.backend.handle(region, operation, params)
        except ServiceCatalogError as error:
            self._send_json(error.status, error.body(), error.code)
        except ShapeMismatchError as error:
            self._send_json(500, {"__type": "InternalFailure", "Message": str(error)})
        except Exception as error:  # surface stand-in bugs to the client as a 500
            message = f"{type(error).__name__}: {error}"
            self._send_json(500, {"__type": "InternalFailure", "Message": message})
        else:
            self._send_json(200, response)

    # ----------------------------------------------------------------- I/O

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, error_type: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)


def _parse_request_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ServiceCatalogError("SerializationException", "Request body is not JSON.") from None
    if not isinstance(params, dict):
        raise ServiceCatalogError("SerializationException", "Request body must be a JSON object.")
    return params


def _config_kwargs(body: bytes) -> dict[str, Any]:
    """Translate a ``POST /_standin/config`` body into ``configure()`` keyword arguments."""
    values = json.loads(body or b"{}")
    if not isinstance(values, dict):
        raise ValueError("config body must be a JSON object")
    if "latency_ms" in values:
        values["latency_s"] = float(values.pop("latency_ms")) / 1000.0
    return values


class ServiceCatalogServer:
    """Serve a :class:`ServiceCatalogBackend` on ``host:port`` (port 0 = ephemeral) in a thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        backend: ServiceCatalogBackend | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.backend = backend or ServiceCatalogBackend()
        self._address = (host, port)
        self._httpd: _StandinHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ServiceCatalogServer:
        if self._httpd is not None:
            return self
        self._httpd = _StandinHTTPServer(self._address, self.backend)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="servicecatalog-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ServiceCatalogServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
