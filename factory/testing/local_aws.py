"""A loopback "AWS": moto for S3/IAM/STS/SSM/... plus the Service Catalog stand-in.

``LocalAWS`` starts moto's ``ThreadedMotoServer`` and :class:`ServiceCatalogServer` on two free
127.0.0.1 ports and exposes the environment that routes *unmodified* boto3 code to them:
``AWS_ENDPOINT_URL`` (every service -> moto) and ``AWS_ENDPOINT_URL_SERVICE_CATALOG`` (botocore's
per-service override, derived from the service id "Service Catalog") -> the stand-in. The
per-service variable wins over the global one; both are ignored if
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is set.

moto keeps its backends in process-global state, so two ``LocalAWS`` instances in one process
share S3/IAM contents (but not Service Catalog state, which lives in each stand-in backend).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.client import BaseClient

from factory.testing import s3_conditional, stacksets
from factory.testing.servicecatalog import (
    DEFAULT_REGION,
    Limits,
    Realism,
    ServiceCatalogBackend,
    ServiceCatalogServer,
)

__all__ = ["ENDPOINT_ENV_SERVICE_CATALOG", "LocalAWS"]

ENDPOINT_ENV = "AWS_ENDPOINT_URL"
ENDPOINT_ENV_SERVICE_CATALOG = "AWS_ENDPOINT_URL_SERVICE_CATALOG"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class LocalAWS:
    """Context manager running moto and the Service Catalog stand-in on loopback.

    >>> with LocalAWS() as aws:                         # doctest: +SKIP
    ...     aws.client("s3").create_bucket(Bucket="templates")
    ...     aws.client("servicecatalog").list_portfolios()
    """

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        *,
        host: str = "127.0.0.1",
        moto_port: int = 0,
        standin_port: int = 0,
        latency_s: float = 0.0,
        operation_latency_s: Mapping[str, float] | None = None,
        throttle_rate: float = 0.0,
        seed: int | None = None,
        realistic: bool = False,
        realism: Realism | None = None,
        limits: Limits | None = None,
    ) -> None:
        """``realistic=True`` turns on the stand-in's realistic mode (:meth:`Realism.realistic`);
        ``realism`` chooses each behaviour explicitly and wins over ``realistic``;
        ``operation_latency_s`` gives some operations their own latency (others: ``latency_s``)."""
        self.region = region
        self._host = host
        self._moto_port = moto_port
        self.standin = ServiceCatalogBackend(
            latency_s=latency_s,
            operation_latency_s=operation_latency_s,
            throttle_rate=throttle_rate,
            seed=seed,
            realistic=realistic,
            realism=realism,
            limits=limits,
        )
        self._standin_server = ServiceCatalogServer(self.standin, host=host, port=standin_port)
        self._moto: Any = None  # moto.server.ThreadedMotoServer, imported lazily (dev extra)
        self.moto_endpoint_url = ""

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> LocalAWS:
        from moto.server import ThreadedMotoServer

        if self._moto is not None:
            return self
        s3_conditional.install()  # a conditional write checks and writes in one step, as in S3
        stacksets.install()  # asynchronous StackSet operations, tokens, OU targets (stacksets.py)
        self._moto = ThreadedMotoServer(ip_address=self._host, port=self._moto_port, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_endpoint_url = f"http://{host}:{port}"
        # Templates named by LoadTemplateFromURL are fetched from moto's S3.
        self.standin.s3_endpoint_url = self.moto_endpoint_url
        try:
            self._standin_server.start()
            # moto's backends are process-global: without this, a new LocalAWS would inherit
            # the buckets and roles of the previous one in the same test session.
            self.reset()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._standin_server.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def __enter__(self) -> LocalAWS:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- access

    @property
    def standin_endpoint_url(self) -> str:
        return self._standin_server.endpoint_url

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (in this or a child process) at loopback."""
        return {
            ENDPOINT_ENV: self.moto_endpoint_url,
            ENDPOINT_ENV_SERVICE_CATALOG: self.standin_endpoint_url,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
        }

    def endpoint_for(self, service: str) -> str:
        return self.standin_endpoint_url if service == "servicecatalog" else self.moto_endpoint_url

    def client(self, service: str, region: str | None = None, **kwargs: Any) -> BaseClient:
        """A boto3 client for ``service`` wired to the right loopback server explicitly."""
        kwargs.setdefault("endpoint_url", self.endpoint_for(service))
        return boto3.client(
            service,
            region_name=region or self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            **kwargs,
        )

    def reset(self) -> None:
        """Forget all resources: moto's (process-global) and the stand-in's."""
        request = urllib.request.Request(f"{self.moto_endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        self.standin.reset()
