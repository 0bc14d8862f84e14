"""Fixtures of the stand-in's own tests: one server per module on a hand-moved clock
(each module resets and configures the backend its own way in its `backend` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from factory.testing.servicecatalog import ServiceCatalogBackend, ServiceCatalogServer
from tests.support import standin
from tests.support.clock import FakeClock


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[ServiceCatalogServer]:
    with ServiceCatalogServer(ServiceCatalogBackend(clock=clock)) as srv:
        yield srv


@pytest.fixture
def sc(server: ServiceCatalogServer, backend: ServiceCatalogBackend) -> Any:
    """A client of the module's server that never retries (`backend`: the module's own)."""
    return standin.client(server.endpoint_url)
