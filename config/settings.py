"""Tessera settings: environments differ by variables (see .env.example); each app's own
settings live in config/app_settings/<app>.py and are merged in below."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.app_settings import recommender as recommender_settings
from config.app_settings import sentiment as sentiment_settings
from config.env import (  # noqa: F401  (DEBUG, PUBLIC_BASE_URL, VAR_DIR are settings too)
    BASE_DIR,
    DEBUG,
    PUBLIC_BASE_URL,
    VAR_DIR,
    default_base_model_dir,
    env,
)

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

# --- Apps' own settings (config/app_settings/<app>.py) ----------------------------------------
for _part in (sentiment_settings, recommender_settings):
    vars().update({name: value for name, value in vars(_part).items() if name.isupper()})
    CELERY_BEAT_SCHEDULE.update(_part.beat_schedule)
    CELERY_TASK_ROUTES.update(_part.task_routes)

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
# A hung SMTP server must not hold a flusher forever (Django's default is no timeout).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # EMAIL_URL ?EMAIL_TIMEOUT= wins
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
