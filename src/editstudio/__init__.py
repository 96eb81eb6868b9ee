"""EditStudio: every serious image-editing model behind one contract.

    import editstudio

    request = editstudio.EditRequest(operation="erase", image=photo_bytes, mask=mask_bytes)
    result = editstudio.run_edit_sync(request)  # the offline local engine by default

The core types and errors import eagerly (they have no I/O dependencies); ``run_edit`` and
``run_edit_sync`` are loaded on first use, because the editing path pulls in the imaging stack
(Pillow, OpenCV) and the providers' HTTP client.
"""

# Helpers are imported under private names so that the module's public names are exactly __all__.
import typing as _typing
from importlib import import_module as _import_module
from importlib import metadata as _metadata

from editstudio.core import (
    OPERATION_SPECS,
    TERMINAL_STATES,
    AssetNotFound,
    AuthError,
    BudgetExceeded,
    ConfigurationError,
    ContentRejected,
    Crop,
    EditProvider,
    EditRequest,
    EditResult,
    EditStudioError,
    Forbidden,
    ImageRejected,
    ImageTooLarge,
    InvalidRequest,
    JobConflict,
    JobNotFound,
    JobState,
    MaskRejected,
    MissingField,
    ModelNotFound,
    NotFound,
    Operation,
    OperationSpec,
    OutputFormat,
    Progress,
    ProgressCallback,
    ProviderError,
    ProviderJobFailed,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    Size,
    StorageError,
    UnsupportedOperation,
    UnsupportedParameter,
    spec_for,
    transition,
)

if _typing.TYPE_CHECKING:
    from editstudio.editing import LOCAL_MODEL_ID, run_edit, run_edit_sync

try:
    __version__ = _metadata.version("editstudio")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# Public names loaded on first access, and the module that holds each.
_LAZY: dict[str, str] = {
    "LOCAL_MODEL_ID": "editstudio.editing",
    "run_edit": "editstudio.editing",
    "run_edit_sync": "editstudio.editing",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'editstudio' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "LOCAL_MODEL_ID",
    "OPERATION_SPECS",
    "TERMINAL_STATES",
    "AssetNotFound",
    "AuthError",
    "BudgetExceeded",
    "ConfigurationError",
    "ContentRejected",
    "Crop",
    "EditProvider",
    "EditRequest",
    "EditResult",
    "EditStudioError",
    "Forbidden",
    "ImageRejected",
    "ImageTooLarge",
    "InvalidRequest",
    "JobConflict",
    "JobNotFound",
    "JobState",
    "MaskRejected",
    "MissingField",
    "ModelNotFound",
    "NotFound",
    "Operation",
    "OperationSpec",
    "OutputFormat",
    "Progress",
    "ProgressCallback",
    "ProviderError",
    "ProviderJobFailed",
    "ProviderKeyRejected",
    "ProviderOutputInvalid",
    "ProviderRateLimited",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuotaExceeded",
    "Size",
    "StorageError",
    "UnsupportedOperation",
    "UnsupportedParameter",
    "__version__",
    "run_edit",
    "run_edit_sync",
    "spec_for",
    "transition",
]
