"""The model catalogue: models as data (``models.toml``), exact estimates, recommendations.

load_catalog() -> Catalog            get_model(id) -> ModelSpec (ModelNotFound otherwise)
list_models(...) -> list[ModelSpec]  estimate(request, model, input_size=...) -> Estimate
recommend(operation, input_size=..., ...) -> Recommendations
"""

from editstudio.catalog.availability import configured_providers
from editstudio.catalog.listing import list_models
from editstudio.catalog.loader import Catalog, get_model, load_catalog, parse_catalog
from editstudio.catalog.pricing import Estimate, EstimateInput, EstimateLine, estimate, list_price
from editstudio.catalog.recommend import (
    Exclusion,
    ExclusionReason,
    Preference,
    Recommendation,
    Recommendations,
    RecommendQuery,
    ScoreParts,
    UserTier,
    rank,
    recommend,
)
from editstudio.catalog.schema import ModelSpec, ModelTier, ProviderSlug

__all__ = [
    "Catalog",
    "Estimate",
    "EstimateInput",
    "EstimateLine",
    "Exclusion",
    "ExclusionReason",
    "ModelSpec",
    "ModelTier",
    "Preference",
    "ProviderSlug",
    "RecommendQuery",
    "Recommendation",
    "Recommendations",
    "ScoreParts",
    "UserTier",
    "configured_providers",
    "estimate",
    "get_model",
    "list_models",
    "list_price",
    "load_catalog",
    "parse_catalog",
    "rank",
    "recommend",
]
