"""Settings of the recommender (apps/recommender), merged into config.settings.

Upper-case names become Django settings; `beat_schedule` and `task_routes` are merged into
CELERY_BEAT_SCHEDULE and CELERY_TASK_ROUTES.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from config.env import DEBUG, env

beat_schedule: dict[str, dict[str, Any]] = {}
task_routes: dict[str, dict[str, str]] = {}


# catalogue, events, candidates, API
# Rows per POST items/ or events/ request; a larger batch is refused whole (400) so a client
# splits it instead of one request holding the database for seconds.
RECOMMENDER_MAX_BATCH_ROWS = env.int("RECOMMENDER_MAX_BATCH_ROWS", default=1000)
# An event may be stamped this far past the server's clock (client clocks drift); later is
# refused per row as a future timestamp.
RECOMMENDER_EVENT_FUTURE_SKEW_S = env.int("RECOMMENDER_EVENT_FUTURE_SKEW_S", default=300)
# How much each event type says about interest (popularity, co-occurrence, recent items).
RECOMMENDER_EVENT_WEIGHTS = {
    "view": 1.0,
    "click": 2.0,
    "add_to_cart": 3.0,
    "rating": 3.0,
    "purchase": 5.0,
}
# Popular/trending: default window and how long a computed list is cached (Redis).
RECOMMENDER_POPULAR_WINDOW_HOURS = env.int("RECOMMENDER_POPULAR_WINDOW_HOURS", default=24 * 7)
RECOMMENDER_POPULAR_CACHE_S = env.int("RECOMMENDER_POPULAR_CACHE_S", default=60)
# Co-occurrence: events of this many days, each user's last N items, top M neighbours kept
# per item; refreshed for every client on this schedule, kept in the cache for a day.
RECOMMENDER_COOCCURRENCE_DAYS = env.int("RECOMMENDER_COOCCURRENCE_DAYS", default=90)
RECOMMENDER_COOCCURRENCE_ITEMS_PER_USER = env.int(
    "RECOMMENDER_COOCCURRENCE_ITEMS_PER_USER", default=50
)
RECOMMENDER_COOCCURRENCE_NEIGHBOURS = env.int("RECOMMENDER_COOCCURRENCE_NEIGHBOURS", default=50)
RECOMMENDER_COOCCURRENCE_REFRESH_S = env.int("RECOMMENDER_COOCCURRENCE_REFRESH_S", default=3600)
# A user's recent items that seed text neighbours and co-occurrence candidates.
RECOMMENDER_RECENT_ITEMS = env.int("RECOMMENDER_RECENT_ITEMS", default=10)
# Items above which the item index switches from exact search to HNSW.
RECOMMENDER_INDEX_APPROXIMATE_THRESHOLD = env.int(
    "RECOMMENDER_INDEX_APPROXIMATE_THRESHOLD", default=20_000
)
# FAISS threads in processes that search the item index (web): a search of a few rows is
# fastest on one thread (0: leave FAISS's default, one per core).
RECOMMENDER_SEARCH_THREADS = env.int("RECOMMENDER_SEARCH_THREADS", default=1)
# Ranking blend: model score (when a recommender.next_item version is promoted), each source's
# prior, popularity and recency; all scores are scaled to [0, 1] before they are weighted.
RECOMMENDER_BLEND_WEIGHTS = {
    "model": env.float("RECOMMENDER_BLEND_MODEL", default=0.5),
    "source": env.float("RECOMMENDER_BLEND_SOURCE", default=0.35),
    "popularity": env.float("RECOMMENDER_BLEND_POPULARITY", default=0.1),
    "recency": env.float("RECOMMENDER_BLEND_RECENCY", default=0.05),
}
beat_schedule["recommender-refresh-cooccurrence"] = {
    "task": "recommender.refresh_cooccurrence",
    "schedule": timedelta(seconds=RECOMMENDER_COOCCURRENCE_REFRESH_S),
}

# ranking model
# recommender.next_item (apps/recommender/training.py): event types it learns from, and how
# strongly each says "the user wanted this" (the blend's EASE and popularity use the weights).
RECOMMENDER_NEXT_ITEM_EVENT_WEIGHTS = {
    "view": 1.0,
    "click": 2.0,
    "rating": 2.0,
    "add_to_cart": 3.0,
    "purchase": 4.0,
}
# Hyper-parameters (ml/recsys/config.py NextItemConfig); any key may be overridden per version.
# The settings bench/rec_quality.py measured on MovieLens (bench/results/rec_quality.json):
# full softmax, each user's latest 50 transitions per epoch, EASE + popularity blend.
RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS = {
    "max_len": 50,
    "windows_per_user": 1,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "epochs": 20,
    "patience": 4,
}
# Retrain on a schedule (a new candidate version; a person promotes it): every N hours, 0 = off.
RECOMMENDER_NEXT_ITEM_RETRAIN_HOURS = env.int("RECOMMENDER_NEXT_ITEM_RETRAIN_HOURS", default=24)
# The scheduled retrain is skipped below this many events (nothing worth learning yet).
RECOMMENDER_NEXT_ITEM_MIN_EVENTS = env.int("RECOMMENDER_NEXT_ITEM_MIN_EVENTS", default=200)
if RECOMMENDER_NEXT_ITEM_RETRAIN_HOURS:
    beat_schedule["recommender-next-item-retrain"] = {
        "task": "recommender.next_item_retrain",
        "schedule": timedelta(hours=RECOMMENDER_NEXT_ITEM_RETRAIN_HOURS),
    }

# experiments and demo shop
# The demo shop page (/shop/) serves this client's catalogue, calling the API with a key derived
# from SECRET_KEY (apps/recommender/demo_data.py); empty turns the page off (the default
# without DEBUG, since the page puts that key in its HTML).
RECOMMENDER_DEMO_SHOP = env.str("RECOMMENDER_DEMO_SHOP", default="demo-shop" if DEBUG else "")
