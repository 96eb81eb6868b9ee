"""The error tree of EditStudio.

Every error carries a machine ``code``, the ``http_status`` the API answers with, whether a retry
may help (``retryable``) and the ``exit_code`` the CLI ends with::

    EditStudioError
    ├─ InvalidRequest 400 ............ the caller sent something to fix
    │  ├─ UnsupportedOperation         the operation or model cannot do this
    │  ├─ UnsupportedParameter         a field the operation does not take
    │  ├─ MissingField                 a field the operation requires
    │  ├─ ImageRejected                bytes that are not a usable image (format, corrupt)
    │  │  └─ ImageTooLarge 413         over the byte or pixel limits
    │  └─ MaskRejected                 a mask that cannot be matched to its image
    ├─ NotFound 404: ModelNotFound, JobNotFound, AssetNotFound
    ├─ AuthError 401 · Forbidden 403 · BudgetExceeded 402 · QuotaExceeded 429 · JobConflict 409
    ├─ ProviderError 502 (provider, status, request_id)
    │  ├─ ProviderKeyRejected · ContentRejected                 not retryable
    │  ├─ ProviderRateLimited(retry_after) · ProviderUnavailable retryable
    │  ├─ ProviderTimeout 504                                    retryable
    │  ├─ ProviderJobFailed                                      the provider ran and failed
    │  └─ ProviderOutputInvalid                                  malformed or missing output
    ├─ ConfigurationError 500 ........ the deployment is mis-set (no key, bad catalogue)
    └─ StorageError 500

Foreign exceptions are wrapped at the layer edge with ``raise ... from exc``; the runner decides
retry or fallback from ``retryable`` alone.
"""

from __future__ import annotations

from typing import Any


class EditStudioError(Exception):
    code = "editstudio_error"
    http_status = 500
    exit_code = 1
    retryable = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape every error takes on the wire."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidRequest(EditStudioError):
    code = "invalid_request"
    http_status = 400
    exit_code = 2


class UnsupportedOperation(InvalidRequest):
    code = "unsupported_operation"


class UnsupportedParameter(InvalidRequest):
    code = "unsupported_parameter"


class MissingField(InvalidRequest):
    code = "missing_field"


class ImageRejected(InvalidRequest):
    code = "image_rejected"


class ImageTooLarge(ImageRejected):
    code = "image_too_large"
    http_status = 413


class MaskRejected(InvalidRequest):
    code = "mask_rejected"


class NotFound(EditStudioError):
    code = "not_found"
    http_status = 404
    exit_code = 4


class ModelNotFound(NotFound):
    code = "model_not_found"


class JobNotFound(NotFound):
    code = "job_not_found"


class AssetNotFound(NotFound):
    code = "asset_not_found"


class AuthError(EditStudioError):
    code = "unauthorized"
    http_status = 401
    exit_code = 5


class Forbidden(AuthError):
    code = "forbidden"
    http_status = 403


class BudgetExceeded(EditStudioError):
    code = "budget_exceeded"
    http_status = 402
    exit_code = 6


class QuotaExceeded(EditStudioError):
    code = "quota_exceeded"
    http_status = 429
    exit_code = 6


class JobConflict(EditStudioError):
    code = "job_conflict"
    http_status = 409
    exit_code = 7


class ProviderError(EditStudioError):
    code = "provider_error"
    http_status = 502
    exit_code = 8

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, provider=provider, status=status, request_id=request_id, **details)
        self.provider = provider
        self.status = status
        self.request_id = request_id


class ProviderKeyRejected(ProviderError):
    code = "provider_key_rejected"


class ContentRejected(ProviderError):
    """The provider refused the content (policy, moderation, or its own validation)."""

    code = "content_rejected"
    http_status = 400
    exit_code = 2


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **kwargs)
        self.retry_after_s = retry_after_s


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    retryable = True


class ProviderTimeout(ProviderError):
    code = "provider_timeout"
    http_status = 504
    retryable = True


class ProviderJobFailed(ProviderError):
    code = "provider_job_failed"


class ProviderOutputInvalid(ProviderError):
    code = "provider_output_invalid"


class ConfigurationError(EditStudioError):
    code = "configuration_error"
    http_status = 500
    exit_code = 3


class StorageError(EditStudioError):
    code = "storage_error"
    http_status = 500
    exit_code = 9
