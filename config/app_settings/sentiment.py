"""Settings of the sentiment monitor (apps/sentiment), merged into config.settings.

Upper-case names become Django settings; `beat_schedule` and `task_routes` are merged into
CELERY_BEAT_SCHEDULE and CELERY_TASK_ROUTES.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from config.env import PUBLIC_BASE_URL, VAR_DIR, env

beat_schedule: dict[str, dict[str, Any]] = {}
task_routes: dict[str, dict[str, str]] = {}

# Each part keeps its settings (and its beat entries, merged into CELERY_BEAT_SCHEDULE) in its
# own block below.

# ingest: feeds and the push API
# Rows per POST /api/sentiment/articles/ (a bigger batch gets a 400, nothing stored).
SENTIMENT_PUSH_MAX_BATCH = env.int("SENTIMENT_PUSH_MAX_BATCH", default=500)
# How far ahead of this server's clock a published time may be before the row is refused.
SENTIMENT_INGEST_FUTURE_SKEW_S = env.int("SENTIMENT_INGEST_FUTURE_SKEW_S", default=300)
SENTIMENT_FEED_TIMEOUT_S = env.float("SENTIMENT_FEED_TIMEOUT_S", default=20.0)
SENTIMENT_FEED_MAX_BYTES = env.int("SENTIMENT_FEED_MAX_BYTES", default=10_000_000)
# A failing feed waits its interval x 2^failures, at most this long, before the next try.
SENTIMENT_FEED_MAX_BACKOFF_S = env.int("SENTIMENT_FEED_MAX_BACKOFF_S", default=6 * 3600)
# A claimed feed is not queued again for this long (matters only if a worker dies mid-poll).
SENTIMENT_FEED_CLAIM_S = env.int("SENTIMENT_FEED_CLAIM_S", default=600)
SENTIMENT_FEED_USER_AGENT = env.str(
    "SENTIMENT_FEED_USER_AGENT", default="Tessera-FeedPoller/0.1 (+feed reader; polite)"
)
beat_schedule["sentiment-poll-due-feeds"] = {
    "task": "sentiment.poll_due_feeds",
    "schedule": timedelta(seconds=env.int("SENTIMENT_FEED_BEAT_S", default=30)),
}

# understanding: sentiment scoring, topic matching
# The headline classifier (registry task `sentiment.headline`), fine-tuned from the shipped
# seed headlines plus the analysts' labels. MiniLM's sentiment fine-tune on Financial PhraseBank
# (issue 13): 4 epochs, lr 5e-5, batch 16 reached 0.79-0.81 accuracy; headlines are short, so
# 64 tokens hold them; label smoothing 0.1 as the chat's intents (less over-confident scores
# for the labelling queue, which sorts by confidence).
SENTIMENT_HEADLINE_HYPERPARAMETERS = {
    "epochs": 4,
    "batch_size": 16,
    "learning_rate": 5e-5,
    "max_seq_length": 64,
    "label_smoothing": 0.1,
}
# New articles per `sentiment.understand_articles` task (one model pass over them in chunks of
# 16 and one topic-matching pass): bounds a task's run time when a burst arrives.
SENTIMENT_BATCH_SIZE = env.int("SENTIMENT_BATCH_SIZE", default=256)
# After a promotion the new version re-scores the articles published within this window.
SENTIMENT_RESCORE_WINDOW_HOURS = env.int("SENTIMENT_RESCORE_WINDOW_HOURS", default=72)
# Cosine similarity of an article (title + body) to a topic's description needed to match when
# the topic sets no threshold of its own. bench/topic_similarity.py (8 descriptions x 79
# articles, bench/data/topic_similarity.json, MiniLM): best F1 at 0.36, precision 0.875 and
# recall 0.857 (0.34: 0.824 / 0.857; 0.40: 0.946 / 0.714); bench/results/topic_similarity.json.
SENTIMENT_TOPIC_SIMILARITY_THRESHOLD = env.float(
    "SENTIMENT_TOPIC_SIMILARITY_THRESHOLD", default=0.36
)
# Articles kept in the `sentiment_articles` vector index (and re-matched when a topic changes).
SENTIMENT_INDEX_DAYS = env.int("SENTIMENT_INDEX_DAYS", default=7)
task_routes["sentiment.understand_articles"] = {"queue": "gpu"}
task_routes["sentiment.refresh_topic_matches"] = {"queue": "gpu"}
beat_schedule["sentiment-articles-index-prune"] = {
    "task": "sentiment.prune_articles_index",
    "schedule": timedelta(hours=6),
}

# alerts: surge detection, alert emails
# The detector's knobs (apps/sentiment/surge.py; bench/surge.py measures delay and false alerts).
SENTIMENT_SURGE_HISTORY_HOURS = env.float("SENTIMENT_SURGE_HISTORY_HOURS", default=24.0)
SENTIMENT_SURGE_HALF_LIFE_HOURS = env.float("SENTIMENT_SURGE_HALF_LIFE_HOURS", default=6.0)
# Evaluated every minute, a window gets ~100 chances a day: bench/surge.py (20 topics x 4 days,
# rules 15m + 60m) gave 0.42 false alerts per topic-day at p 0.01, 0.025 at 0.001, 0 at 1e-4
# (where the 15m rule alone missed 6 of 18 surges instead of 5).
SENTIMENT_SURGE_P_VALUE = env.float("SENTIMENT_SURGE_P_VALUE", default=0.001)
SENTIMENT_SURGE_MIN_EXPECTED_PER_HOUR = env.float(
    "SENTIMENT_SURGE_MIN_EXPECTED_PER_HOUR", default=0.5
)
SENTIMENT_SURGE_MIN_BASELINE_SHARE = env.float("SENTIMENT_SURGE_MIN_BASELINE_SHARE", default=0.1)
SENTIMENT_SURGE_RELEASE_FRACTION = env.float("SENTIMENT_SURGE_RELEASE_FRACTION", default=0.5)
# Most negative headlines kept as an alert's evidence and shown in its email.
SENTIMENT_ALERT_HEADLINES = env.int("SENTIMENT_ALERT_HEADLINES", default=5)
# An alert still firing and unacknowledged reminds once per rule cooldown, this often at most.
SENTIMENT_ALERT_MAX_REMINDERS = env.int("SENTIMENT_ALERT_MAX_REMINDERS", default=3)
# Absolute origin for links in emails (acknowledge, alert page): emails have no request. The
# site's PUBLIC_BASE_URL unless set on its own (the demo sets PUBLIC_BASE_URL from its --port).
SENTIMENT_ALERT_BASE_URL = env.str("SENTIMENT_ALERT_BASE_URL", default=PUBLIC_BASE_URL)
SENTIMENT_ACK_MAX_AGE_DAYS = env.int("SENTIMENT_ACK_MAX_AGE_DAYS", default=14)
# The topic chart's negative-share line skips time slots with fewer scored articles than this.
SENTIMENT_CHART_SHARE_MIN_ARTICLES = env.int("SENTIMENT_CHART_SHARE_MIN_ARTICLES", default=3)
# Outbox: a failed send waits BACKOFF_S * 2^(attempts-1) (capped), gives up after MAX_ATTEMPTS.
SENTIMENT_OUTBOX_MAX_ATTEMPTS = env.int("SENTIMENT_OUTBOX_MAX_ATTEMPTS", default=8)
SENTIMENT_OUTBOX_BACKOFF_S = env.float("SENTIMENT_OUTBOX_BACKOFF_S", default=15.0)
SENTIMENT_OUTBOX_BACKOFF_MAX_S = env.float("SENTIMENT_OUTBOX_BACKOFF_MAX_S", default=3600.0)
SENTIMENT_OUTBOX_BATCH = env.int("SENTIMENT_OUTBOX_BATCH", default=100)
# The demo/test SMTP server (manage.py sentiment_mailbox) and where it keeps mail (a Maildir).
SENTIMENT_MAILBOX_HOST = env.str("SENTIMENT_MAILBOX_HOST", default="127.0.0.1")
SENTIMENT_MAILBOX_PORT = env.int("SENTIMENT_MAILBOX_PORT", default=8025)
SENTIMENT_MAILBOX_DIR = env.str("SENTIMENT_MAILBOX_DIR", default=str(VAR_DIR / "mailbox"))
beat_schedule["sentiment-alerts-evaluate"] = {
    "task": "sentiment.alerts_evaluate",
    "schedule": timedelta(seconds=env.int("SENTIMENT_ALERTS_EVALUATE_S", default=60)),
}
beat_schedule["sentiment-outbox-flush"] = {
    "task": "sentiment.outbox_flush",
    "schedule": timedelta(seconds=env.int("SENTIMENT_OUTBOX_FLUSH_S", default=30)),
}

# dashboard and labelling
# The overview compares a topic's last hour with this many days before it (its baseline).
SENTIMENT_DASHBOARD_BASELINE_DAYS = env.int("SENTIMENT_DASHBOARD_BASELINE_DAYS", default=7)
