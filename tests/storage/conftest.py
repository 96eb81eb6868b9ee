"""One contract suite over every blob store (``store`` is parametrised, as in dramatiq's suite)."""

from __future__ import annotations

import importlib.util
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from editstudio.storage import BaseBlobStore, LocalDirStore, MemoryStore

HAVE_S3_TOOLS = all(importlib.util.find_spec(name) is not None for name in ("boto3", "moto"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback (the ``s3`` and test extras provide boto3 and moto)."""
    if not HAVE_S3_TOOLS:
        pytest.skip("boto3/moto are not installed (pip install 'editstudio[s3]' moto[server])")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BaseBlobStore:
    if request.param == "local":
        return LocalDirStore(tmp_path / "blobs")
    if request.param == "memory":
        return MemoryStore()
    from editstudio.storage.s3 import S3Store

    endpoint: str = request.getfixturevalue("s3_endpoint")
    client = s3_client(endpoint)
    bucket = f"editstudio-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(bucket, prefix="tests/", client=client)
