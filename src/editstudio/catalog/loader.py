"""Read ``models.toml`` into a ``Catalog``; a bad entry stops start-up naming its id and field."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import ConfigurationError, ModelNotFound

CATALOG_RESOURCE = "models.toml"


@dataclass(frozen=True)
class Catalog:
    """The models, in file order, addressable by id. Unknown ids raise; there is no default."""

    models: tuple[ModelSpec, ...]
    _by_id: dict[str, ModelSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {m.id: m for m in self.models})

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._by_id[model_id]
        except KeyError:
            suggestions = close_matches(model_id, self.ids)
            hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
            raise ModelNotFound(
                f"unknown model {model_id!r}{hint} (`editstudio models` lists them)",
                model=model_id,
                suggestions=suggestions,
            ) from None


def close_matches(model_id: str, ids: Iterable[str], limit: int = 3) -> list[str]:
    """Ids that look like ``model_id``: same model name under any provider first, then fuzzy."""
    ids = list(ids)
    tail = model_id.rsplit("/", 1)[-1]
    same_name = [i for i in ids if i.rsplit("/", 1)[-1] == tail]
    fuzzy = difflib.get_close_matches(model_id, ids, n=limit, cutoff=0.5)
    fuzzy_tail = difflib.get_close_matches(tail, [i.split("/", 1)[1] for i in ids], n=limit, cutoff=0.6)
    by_tail = [i for t in fuzzy_tail for i in ids if i.split("/", 1)[1] == t]
    ordered = dict.fromkeys([*same_name, *fuzzy, *by_tail])
    return list(ordered)[:limit]


def parse_catalog(text: str, *, source: str = CATALOG_RESOURCE) -> Catalog:
    """Validate catalogue TOML text. Raises ``ConfigurationError`` naming the entry and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: not valid TOML: {exc}", source=source) from exc
    entries = data.get("models")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{source}: needs at least one [[models]] table", source=source)
    models = tuple(_validate_entry(entry, position, source) for position, entry in enumerate(entries, 1))
    _check_unique(models, source)
    return Catalog(models)


def _validate_entry(entry: Any, position: int, source: str) -> ModelSpec:
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    label = repr(entry_id) if entry_id else f"#{position} (no id)"
    try:
        return ModelSpec.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(entry)"
        raise ConfigurationError(
            f"{source}: model {label}: field {field}: {first['msg']}",
            source=source,
            model=entry_id,
            field=field,
        ) from exc


def _check_unique(models: tuple[ModelSpec, ...], source: str) -> None:
    seen: set[str] = set()
    for model in models:
        if model.id in seen:
            raise ConfigurationError(
                f"{source}: model {model.id!r}: field id: listed twice",
                source=source,
                model=model.id,
                field="id",
            )
        seen.add(model.id)


def load_catalog(path: Path | None = None) -> Catalog:
    """The packaged catalogue (read once per process), or the file at ``path``."""
    if path is None:
        return _packaged_catalog()
    return parse_catalog(path.read_text(encoding="utf-8"), source=str(path))


@lru_cache(maxsize=1)
def _packaged_catalog() -> Catalog:
    text = resources.files("editstudio.catalog").joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    return parse_catalog(text)


def get_model(model_id: str, catalog: Catalog | None = None) -> ModelSpec:
    """The model with this id; ``ModelNotFound`` (with close matches) when there is none."""
    return (catalog or load_catalog()).get(model_id)
