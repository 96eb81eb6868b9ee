"""``S3Store``: blobs in an S3-compatible bucket (AWS, MinIO, R2, ...). Needs the ``s3`` extra
(boto3), imported only when a store is built, so the default install does not carry it."""

from __future__ import annotations

import importlib
from typing import Any

from editstudio.core.errors import ConfigurationError
from editstudio.storage.base import BaseBlobStore, fan_out

INSTALL_HINT = "S3 storage needs boto3: pip install 'editstudio[s3]'"
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(INSTALL_HINT) from exc


class S3Store(BaseBlobStore):
    """Objects at ``s3://bucket/<prefix>ab/cd/<sha256>`` with their MIME type as Content-Type.

    ``client`` may be any boto3 S3 client (tests point one at a loopback server); without it one
    is built from boto3's usual credential chain and ``endpoint_url``.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
    ) -> None:
        self._botocore = _import("botocore.exceptions")
        if client is None:
            client = _import("boto3").client("s3", endpoint_url=endpoint_url, region_name=region_name)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client

    def _key(self, asset_id: str) -> str:
        return self.prefix + fan_out(asset_id)

    def _write(self, asset_id: str, data: bytes, mime_type: str) -> None:
        # A single PUT is atomic on S3: readers see the whole object or none.
        self._client.put_object(Bucket=self.bucket, Key=self._key(asset_id), Body=data, ContentType=mime_type)

    def _read(self, asset_id: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(asset_id))
        except self._botocore.ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        body: bytes = response["Body"].read()
        return body

    def _exists(self, asset_id: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(asset_id))
        except self._botocore.ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    def _delete(self, asset_id: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._key(asset_id))

    def _path_hint(self, asset_id: str) -> str:
        return f"s3://{self.bucket}/{self._key(asset_id)}"

    def _failure_types(self) -> tuple[type[BaseException], ...]:
        return (OSError, self._botocore.BotoCoreError, self._botocore.ClientError)


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
