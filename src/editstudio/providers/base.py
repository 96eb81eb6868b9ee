"""What every cloud provider class (``<slug>_provider.py``) shares, around its own I/O.

``CatalogProvider`` holds the parts that were the same in each adapter: the constructor's catalogue,
default model, image limits, HTTP layer and options; a ``repr`` without secrets; ``async with`` for
one shared connection pool; ``supports`` and ``model_spec`` over the catalogue entries of its own
provider. ``Reporter`` forwards progress. Each subclass keeps its own constructor signature (the key
parameter's name, its options type and its ``ProviderHttp`` defaults) and its own ``edit``.
"""

from __future__ import annotations

from typing import ClassVar, Generic, Self, TypeVar

from editstudio.catalog.loader import Catalog, load_catalog
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import UnsupportedOperation, UnsupportedParameter
from editstudio.core.operations import Operation
from editstudio.core.provider import Progress, ProgressCallback
from editstudio.core.request import EditRequest
from editstudio.imaging import ImageLimits
from editstudio.providers.common import BearerCredentials
from editstudio.providers.http import Pending, ProviderHttp

CredsT = TypeVar("CredsT", bound=BearerCredentials)
OptionsT = TypeVar("OptionsT")


class CatalogProvider(Generic[CredsT, OptionsT]):
    """A provider serving the catalogue models whose provider slug is ``name``.

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name: str  # the catalogue's provider slug; a plain attribute, as the EditProvider protocol has it
    # How messages name one of its models ("a WaveSpeed model", "an OpenAI model"): the article
    # depends on the name, so each subclass spells it out.
    model_noun: ClassVar[str]

    def __init__(
        self,
        *,
        creds: CredsT,
        model: str | None,
        catalog: Catalog | None,
        limits: ImageLimits | None,
        http: ProviderHttp,
        options: OptionsT,
    ) -> None:
        self._creds = creds
        self._catalog = catalog or load_catalog()
        self.default_model = model
        self.limits = limits or ImageLimits()
        self.http = http
        self.options = options

    def __repr__(self) -> str:
        # The credentials hold the key: only the base URL is shown.
        return f"{type(self).__name__}(base_url={self._creds.base_url!r}, model={self.default_model!r})"

    async def __aenter__(self) -> Self:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    def supports(self, operation: Operation) -> bool:
        return any(m.provider.value == self.name and m.serves(operation) for m in self._catalog)

    def model_spec(self, model: str | None) -> ModelSpec:
        """The catalogue entry of ``model`` (or the default); another provider's model is refused."""
        model_id = model or self.default_model
        if model_id is None:
            raise UnsupportedParameter(f"no model given: pass model='{self.name}/<name>'", field="model")
        spec = self._catalog.get(model_id)
        if spec.provider.value != self.name:
            raise UnsupportedParameter(f"{model_id} is not {self.model_noun}", field="model", model=model_id)
        return spec

    def _spec_for(self, request: EditRequest, model: str | None) -> ModelSpec:
        """``model_spec``, refusing a model that does not do the request's operation. Subclasses
        extend it to refuse a route they cannot send before any work is done."""
        spec = self.model_spec(model)
        if not spec.serves(request.operation):
            raise UnsupportedOperation(
                f"{spec.id} does not do {request.operation.value}; it does "
                f"{', '.join(op.value for op in spec.operations)}",
                model=spec.id,
                operation=request.operation.value,
            )
        return spec


class Reporter:
    """Calls the caller's progress callback, if any."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        if self._callback is not None:
            self._callback(Progress(stage, fraction, message))

    def polling(self, pending: Pending, polls: int) -> None:
        """A poll loop's ``on_pending``: the remote status, creeping from 0.2 towards 0.85."""
        self(pending.status, min(0.2 + 0.05 * polls, 0.85))
