"""Per-user recommendation preview: scoring through any registered model, reasons, re-ranking, cold start,
semantic search and batch export. No Streamlit here; pages/recommendations.py renders it."""

from core.recommend.rerank import ItemFilter, ListQuality, RerankOptions
from core.recommend.service import PreviewOptions, Recommendation, RecommendationService

__all__ = ["ItemFilter", "ListQuality", "PreviewOptions", "Recommendation", "RecommendationService", "RerankOptions"]
