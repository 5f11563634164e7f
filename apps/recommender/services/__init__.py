"""The recommender's services: catalogue and event ingest, co-occurrence, recommending.

Split by concern (each module's docstring says what it owns); import from here.
"""

from apps.recommender.services.batches import BatchResult, RowResult
from apps.recommender.services.catalog import (
    ItemRowSerializer,
    item_remove,
    items_availability_set,
    items_upsert,
)
from apps.recommender.services.cooccurrence import (
    CooccurrenceStatus,
    cooccurrence_neighbours,
    cooccurrence_refresh,
    cooccurrence_status,
    cooccurrence_status_set,
)
from apps.recommender.services.events import EventRowSerializer, events_ingest
from apps.recommender.services.item_index import ITEM_INDEX, item_index_spec
from apps.recommender.services.recommend import (
    EXCLUDE_CHOICES,
    RecommendationList,
    popular_list,
    recommendations_for_user,
    similar_items,
)

__all__ = [
    "EXCLUDE_CHOICES",
    "ITEM_INDEX",
    "BatchResult",
    "CooccurrenceStatus",
    "EventRowSerializer",
    "ItemRowSerializer",
    "RecommendationList",
    "RowResult",
    "cooccurrence_neighbours",
    "cooccurrence_refresh",
    "cooccurrence_status",
    "cooccurrence_status_set",
    "events_ingest",
    "item_index_spec",
    "item_remove",
    "items_availability_set",
    "items_upsert",
    "popular_list",
    "recommendations_for_user",
    "similar_items",
]
