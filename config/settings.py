"""Tessera settings: one module, environments differ by variables (see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, default_base_model_dir, env

VAR_DIR = Path(env.str("TESSERA_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off; set SECRET_KEY (50+ random characters) "
            "or DEBUG=1 for local development"
        )
    SECRET_KEY = "insecure-dev-only-key-" + "x" * 40  # noqa: S105  (DEBUG only)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "ml.registry",
    "apps.chat",
    "apps.sentiment",
    "apps.recommender",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL says otherwise -------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}"),
}
# Persistent connections: workers and commands reuse one per thread, instead of connecting (a
# PostgreSQL backend fork) for every task. Health-checked on reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Web servers (config/asgi.py) default DB_CONN_MAX_AGE to 0: each HTTP request runs in a thread
# of its own, so kept connections piled up until PostgreSQL refused more (HTTP 500s). Instead a
# web process lets at most DB_WEB_MAX_REQUESTS requests into Django at once (each holds at most
# one connection); the others wait up to DB_WEB_WAIT_S, then get 503 + Retry-After.
DB_WEB_MAX_REQUESTS = env.int("DB_WEB_MAX_REQUESTS", default=16)
DB_WEB_WAIT_S = env.float("DB_WEB_WAIT_S", default=10.0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not :memory:) so a real worker process can see what the tests wrote.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options["timeout"] = 20
    # WAL: readers never wait for the writer, and a commit appends to the log instead of
    # writing and deleting a rollback journal. IMMEDIATE: a transaction takes the write lock up
    # front instead of failing with "database is locked" when it upgrades from read to write.
    sqlite_options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
elif env.str("TESSERA_TEST_DB_SUFFIX", default=""):
    # Parallel test runs on one server each get their own test database.
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{env.str('TESSERA_TEST_DB_SUFFIX')}"
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed files after `collectstatic` in production; served from the source folders
# (no collectstatic step) in development and tests.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Files browsers ask for at the site root (/favicon.ico), served by WhiteNoise like static files.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

LOGIN_URL = "admin:login"

# --- Redis or embedded mode -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
TESSERA_MODE = "redis" if REDIS_URL else "embedded"

# Lets several deployments (or parallel test runs) share one Redis without seeing each other.
REDIS_KEY_PREFIX = env.str("TESSERA_REDIS_PREFIX", default="")

if REDIS_URL:
    # "pubsub" (Redis PUBLISH/SUBSCRIBE) or "core" (lists + Lua, with per-channel capacity and
    # expiry). Chat frames need neither buffering nor expiry (history is in the database and is
    # resent on reconnect), and bench/chat_load.py measured pubsub's delivery as cheaper.
    CHANNEL_LAYER_KIND = env.str("CHANNEL_LAYER", default="pubsub")
    if CHANNEL_LAYER_KIND not in {"pubsub", "core"}:
        raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER_KIND!r}: use pubsub or core")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": f"channels_redis.{CHANNEL_LAYER_KIND}.Redis"
            + ("PubSubChannelLayer" if CHANNEL_LAYER_KIND == "pubsub" else "ChannelLayer"),
            # socket_timeout=None: redis-py 8 defaults to 5 s, which aborts channels_redis's
            # blocking BZPOPMIN (5 s) and tears down idle websockets (channels_redis#422).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": f"{REDIS_KEY_PREFIX}asgi",
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
    if REDIS_KEY_PREFIX:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
        CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX}
else:
    # One machine, no Redis: in-process channel layer and a filesystem broker that still
    # feeds a real worker process.
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "results", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{BROKER_DIR / 'results'}"

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "ml.train_model_version": {"queue": "gpu"},
    "ml.index_sync": {"queue": "gpu"},
    "ml.index_rebuild": {"queue": "gpu"},
    "ml.index_ensure_current": {"queue": "gpu"},
    "ml.score_batch": {"queue": "gpu"},
    "ml.rescore_run": {"queue": "gpu"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "ml-reap-stale-training": {
        "task": "ml.reap_stale_training",
        "schedule": timedelta(seconds=60),
    },
    "chat-close-idle-conversations": {
        "task": "chat.close_idle_conversations",
        "schedule": timedelta(minutes=5),
    },
    "chat-purge-expired-conversations": {
        "task": "chat.purge_expired_conversations",
        "schedule": timedelta(hours=6),
    },
}

# --- ML -------------------------------------------------------------------------------------
ML_BASE_MODEL = env.str("ML_BASE_MODEL", default=default_base_model_dir())
ML_BASE_MODEL_NAME = env.str(
    "ML_BASE_MODEL_NAME",
    default="all-MiniLM-L6-v2"
    if ML_BASE_MODEL == default_base_model_dir()
    else Path(ML_BASE_MODEL).name,
)
ML_DEVICE = env.str("ML_DEVICE", default="auto")
ML_ARTIFACTS_DIR = env.str("ML_ARTIFACTS_DIR", default=str(VAR_DIR / "artifacts"))
# int8 encoder weights: "auto" (default) = ONNX Runtime's int8 copy whenever the encoder runs in
# ONNX Runtime (CPU): 3.5x less encoder time per question at the same Banking77 answers
# (bench/results/chat_quality_int8.json); 1 = also PyTorch's int8 with ML_ENCODER_RUNTIME=torch;
# 0 = fp32 everywhere.
_int8 = env.str("ML_ENCODER_INT8", default="auto").strip().lower()
if _int8 not in {"auto", "1", "true", "yes", "on", "0", "false", "no", "off"}:
    raise ImproperlyConfigured(f"ML_ENCODER_INT8={_int8!r}: use auto, 1 or 0")
ML_ENCODER_INT8 = None if _int8 == "auto" else _int8 in {"1", "true", "yes", "on"}
# Fine-tuned classifiers (sentiment, chat intents): PyTorch int8 dynamic quantisation on CPU.
# auto = on when the model runs on the CPU (bench/results/sentiment_quality.json: int8 vs fp32).
_classifier_int8 = env.str("ML_CLASSIFIER_INT8", default="auto").strip().lower()
if _classifier_int8 not in {"auto", "1", "0", "true", "false", "yes", "no", "on", "off"}:
    raise ImproperlyConfigured(f"ML_CLASSIFIER_INT8={_classifier_int8!r}: use auto, 1 or 0")
ML_CLASSIFIER_INT8 = (
    None if _classifier_int8 == "auto" else _classifier_int8 in {"1", "true", "yes", "on"}
)
# The base encoder's transformer: "onnx" (ONNX Runtime, CPU only; about 2x faster per
# question than PyTorch), "torch", or "auto" (onnx on CPU, torch on GPU).
ML_ENCODER_RUNTIME = env.str("ML_ENCODER_RUNTIME", default="auto")
# On CUDA: fp32, autocast (bf16 autocast) or half (weights cast once); auto = fp32, measured
# fastest for MiniLM on an H200 (bench/results/encode_gpu.json). Ignored on the CPU.
ML_ENCODER_PRECISION = env.str("ML_ENCODER_PRECISION", default="auto")
# Load the encoder and indexes in the background when the ASGI server starts, so the first
# customer after a deploy does not wait for them (seconds; more for a first ONNX export).
ML_PRELOAD = env.bool("ML_PRELOAD", default=True)
ML_ENCODER_BATCH_SIZE = env.int("ML_ENCODER_BATCH_SIZE", default=64)
ML_BATCH_MAX_SIZE = env.int("ML_BATCH_MAX_SIZE", default=32)
ML_BATCH_MAX_WAIT_MS = env.float("ML_BATCH_MAX_WAIT_MS", default=4.0)
# Off: each online request runs its own forward pass (bench/chat_load.py compares both).
ML_BATCHING = env.bool("ML_BATCHING", default=True)
ML_MODEL_REFRESH_S = env.float("ML_MODEL_REFRESH_S", default=2.0)
# Celery priority of a promotion's re-scoring (Redis transport: 0 is served first, 9 last), so
# it waits behind fresh scoring on a shared worker.
ML_RESCORE_PRIORITY = env.int("ML_RESCORE_PRIORITY", default=6)
ML_TRAINING_STALE_S = env.int("ML_TRAINING_STALE_S", default=900)

# --- Chat -----------------------------------------------------------------------------------
# Origins (e.g. https://shop.example.com) whose pages may open the chat websocket.
CHAT_WIDGET_ORIGINS = env.list("CHAT_WIDGET_ORIGINS", default=[])
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=1000)
CHAT_RATE_PER_MINUTE_CONVERSATION = env.int("CHAT_RATE_PER_MINUTE_CONVERSATION", default=20)
CHAT_RATE_PER_MINUTE_IP = env.int("CHAT_RATE_PER_MINUTE_IP", default=60)
# Customer socket connects per minute per client address, so a script cannot open sockets
# without end (the widget connects once opened or resuming; reconnects back off from 1 s).
CHAT_CONNECTS_PER_MINUTE_IP = env.int("CHAT_CONNECTS_PER_MINUTE_IP", default=60)
CHAT_HISTORY_LIMIT = env.int("CHAT_HISTORY_LIMIT", default=100)
# The bot's typing indicator shows only when a reply takes longer than this (0: always).
CHAT_BOT_TYPING_DELAY_MS = env.int("CHAT_BOT_TYPING_DELAY_MS", default=300)
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=180)
CHAT_IDLE_CLOSE_MINUTES = env.int("CHAT_IDLE_CLOSE_MINUTES", default=30)
CHAT_UNANSWERED_GROUP_SIMILARITY = env.float("CHAT_UNANSWERED_GROUP_SIMILARITY", default=0.75)
CHAT_INDEX_APPROXIMATE_THRESHOLD = env.int("CHAT_INDEX_APPROXIMATE_THRESHOLD", default=20_000)
# Chosen by bench/chat_quality.py on a validation split with held-out intents
# (bench/results/chat_quality.json, Banking77): above `answer` the bot answers, above
# `suggest` it offers the top 3, below it offers a person.
CHAT_ANSWER_THRESHOLD = env.float("CHAT_ANSWER_THRESHOLD", default=0.8912)
CHAT_SUGGEST_THRESHOLD = env.float("CHAT_SUGGEST_THRESHOLD", default=0.8707)
# Those two apply only until a chat.intent model is promoted: training one chooses its own
# points on its held-out data (cross-validation over the knowledge base's phrasings, liked
# questions and out-of-scope examples) to meet these targets (ml/training/decision.py):
# answers right at least this share of the time,
CHAT_TARGET_ANSWER_PRECISION = env.float("CHAT_TARGET_ANSWER_PRECISION", default=0.97)
# at most this share of unknown (out-of-scope) questions answered,
CHAT_TARGET_MAX_OOS_ANSWERED = env.float("CHAT_TARGET_MAX_OOS_ANSWERED", default=0.05)
# at most this share of them not offered a person (answered or given suggestions),
CHAT_TARGET_MAX_OOS_KEPT = env.float("CHAT_TARGET_MAX_OOS_KEPT", default=0.10)
# and "Did you mean" only where the right entry is among the 3 offered this often.
CHAT_TARGET_SUGGEST_RECALL = env.float("CHAT_TARGET_SUGGEST_RECALL", default=0.80)
# A typed request for a person ("can I talk to a human?") hands off when its cosine to one of
# the request phrasings (apps/chat/handoff_requests.py, or CHAT_HANDOFF_PHRASES, separated by
# "|") reaches this; above 1 turns detection off. bench/handoff_requests.py chose 0.52: 90% of
# held-out requests, 0.07% of 13k Banking77 questions (bench/results/handoff_requests.json).
CHAT_HANDOFF_REQUEST_SIMILARITY = env.float("CHAT_HANDOFF_REQUEST_SIMILARITY", default=0.52)
CHAT_HANDOFF_PHRASES = [
    p.strip() for p in env.str("CHAT_HANDOFF_PHRASES", default="").split("|") if p.strip()
]
# lr 1e-4 / batch 16 beat 5e-5 on the Banking77 validation split (0.910 vs 0.881 accuracy after
# 3 epochs on 2.7k examples): bench/results/chat_quality_sweep.json. Label smoothing 0.1 raised
# full-train validation accuracy 0.934 -> 0.936 (bench/chat_quality.py HYPERPARAMETERS).
CHAT_INTENT_HYPERPARAMETERS = {
    "epochs": 4,
    "batch_size": 16,
    "learning_rate": 1e-4,
    "max_seq_length": 64,
    "label_smoothing": 0.1,
}

# --- Sentiment monitor (apps/sentiment) -----------------------------------------------------
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
CELERY_BEAT_SCHEDULE["sentiment-poll-due-feeds"] = {
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
CELERY_TASK_ROUTES["sentiment.understand_articles"] = {"queue": "gpu"}
CELERY_TASK_ROUTES["sentiment.refresh_topic_matches"] = {"queue": "gpu"}
CELERY_BEAT_SCHEDULE["sentiment-articles-index-prune"] = {
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
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000")
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
# A hung SMTP server must not hold a flusher forever (Django's default is no timeout).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # EMAIL_URL ?EMAIL_TIMEOUT= wins
CELERY_BEAT_SCHEDULE["sentiment-alerts-evaluate"] = {
    "task": "sentiment.alerts_evaluate",
    "schedule": timedelta(seconds=env.int("SENTIMENT_ALERTS_EVALUATE_S", default=60)),
}
CELERY_BEAT_SCHEDULE["sentiment-outbox-flush"] = {
    "task": "sentiment.outbox_flush",
    "schedule": timedelta(seconds=env.int("SENTIMENT_OUTBOX_FLUSH_S", default=30)),
}

# dashboard and labelling
# The overview compares a topic's last hour with this many days before it (its baseline).
SENTIMENT_DASHBOARD_BASELINE_DAYS = env.int("SENTIMENT_DASHBOARD_BASELINE_DAYS", default=7)

# --- Recommender (apps/recommender) ---------------------------------------------------------

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
CELERY_BEAT_SCHEDULE["recommender-refresh-cooccurrence"] = {
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
    CELERY_BEAT_SCHEDULE["recommender-next-item-retrain"] = {
        "task": "recommender.next_item_retrain",
        "schedule": timedelta(hours=RECOMMENDER_NEXT_ITEM_RETRAIN_HOURS),
    }

# experiments and demo shop
# The demo shop page (/shop/) serves this client's catalogue, calling the API with a key derived
# from SECRET_KEY (apps/recommender/demo_data.py); empty turns the page off (the default
# without DEBUG, since the page puts that key in its HTML).
RECOMMENDER_DEMO_SHOP = env.str("RECOMMENDER_DEMO_SHOP", default="demo-shop" if DEBUG else "")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Support chat, financial sentiment alerts and recommendations.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tessera@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production defaults; DEBUG relaxes only what a laptop needs) -----------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"},
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "filters": {"library_root_chatter": {"()": "apps.core.logging.LibraryRootChatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["library_root_chatter"],  # ONNX Runtime's quantiser logs via root
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "faiss": {"level": "WARNING"},  # faiss.loader: 8 INFO lines on which CPU build loaded
    },
}
