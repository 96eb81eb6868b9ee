"""Schemathesis over the OpenAPI document, against a real server on loopback: no 500s, and every
answer (status, content type, headers, body) is one the document declares."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from api_kit import make_settings, resolve_provider
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from editstudio.api.app import create_app
from editstudio.jobs import JobServiceConfig
from editstudio.storage import MemoryStore

EXAMPLES_PER_OPERATION = 12
# Not negative_data_rejection: pydantic's lax parsing accepts e.g. a Unix time for a date-time
# query; being liberal in what it reads breaks no response, which is what this test guards.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# The document does not depend on state, so an app that never starts is enough to read it.
schema = schemathesis.openapi.from_dict(create_app(make_settings(Path("/nonexistent"))).openapi())


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(
        make_settings(tmp_path_factory.mktemp("schema")),
        blob_store=MemoryStore(),
        resolve_provider=resolve_provider,
        job_config=JobServiceConfig(workers=1, poll_interval_s=0.05),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # start-up handshake with the server thread, not a timing guess
        if not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, server_url: str) -> None:
    case.call_and_validate(base_url=server_url, checks=CHECKS)
