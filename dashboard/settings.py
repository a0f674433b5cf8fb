"""One settings module, read from the environment. Defaults are safe for development;
`.env.example` documents every variable. Production's: the development tools are installed by
`devtools/settings.py`, built on these."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from dashboard.environment import env_bool, env_list

BASE_DIR = Path(__file__).resolve().parent.parent


def checkout_secret_key(path: Path) -> str:
    """This checkout's own random key, made on first use and kept (mode 0600), so that sessions
    and signatures outlive a restart: `make run` needs no SECRET_KEY, and never signs with a
    key anyone else knows."""
    try:
        if key := path.read_text().strip():
            return key
        raise ImproperlyConfigured(f"{path} is empty: delete it, or set SECRET_KEY.")
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: a process starting alongside never
        # reads half a key, and the first key made is the one kept.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY is not set and {path} cannot be written ({exc}): set SECRET_KEY.") from exc


# Django's debug pages (tracebacks, settings, every URL pattern) only when asked for: DEBUG=true.
# Off, `make run` is what a team points at a real WapiKit (it sets the few local-run settings
# below for its own server: devtools/sandbox/management/commands/rundemo.py).
DEBUG = env_bool("DEBUG", False)
# Set it in production, the same on every host. Unset: this checkout's own random key, kept in
# SECRET_KEY_FILE (var/secret_key). The test suite sets its own (tests/settings.py).
SECRET_KEY = os.environ.get("SECRET_KEY", "") or checkout_secret_key(
    Path(os.environ.get("SECRET_KEY_FILE", "") or BASE_DIR / "var" / "secret_key")
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    # Django
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Third party
    "django_htmx",
    "rest_framework",
    # The API's OpenAPI schema, and its docs served from our own static files (no CDN).
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Background tasks kept in the database and run by `manage.py db_worker` (see TASKS).
    "django_tasks_db",
    # Ours
    "dashboard.accounts",
    "dashboard.api",
    "dashboard.audit",
    "dashboard.conversations",
    "dashboard.inbox",
    "dashboard.live",
    "dashboard.operations",
    "dashboard.routing",
    "dashboard.reporting",
    "dashboard.reports",
]

MIDDLEWARE = [
    "dashboard.observability.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "dashboard.live.middleware.GZipExceptEventStreams",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Under DEBUG too, a missing page is the dashboard's 404, not Django's list of URL patterns.
    "dashboard.errors.OwnNotFoundPageMiddleware",
    "dashboard.observability.middleware.UserContextMiddleware",
    # Times shown in the user's chosen zone, else their browser's (a cookie), else TIME_ZONE.
    "dashboard.accounts.middleware.TimeZoneMiddleware",
    "dashboard.conversations.shared.ReadAgesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.inbox.middleware.HtmxAwareLoginRequiredMiddleware",
    "dashboard.inbox.middleware.PrivateAnswersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Compressed, long-cached static files in production; runserver serves them in development.
    MIDDLEWARE.insert(3, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "dashboard.observability.middleware.request_id",
                "dashboard.conversations.shared.read_ages",
                "dashboard.live.views.live_state",
                "dashboard.inbox.navigation.navigation",
                "dashboard.accounts.preferences.inbox_layout",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The dashboard and the sandbox share the file: WAL lets one write while the other reads.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "wapikit-dashboard",
    }
}
# Redis, when set, is what every process shares: the cache, the live bus, the listener's lock
# and the stream cap. The one answer to "is there Redis?" is this setting.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
# Rendered cards, in each process's memory even with Redis: a page reads 50 of them.
CACHES["cards"] = {
    # LocMemCache, with each hit and miss counted for /metrics.
    "BACKEND": "dashboard.observability.cache.CountedLocMemCache",
    "LOCATION": "cards",
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Security. The CSP allows scripts only from our own static files: htmx is configured
# (meta htmx-config) not to inject inline styles nor to evaluate code.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Templates carry the token (and htmx sends it from <body hx-headers>): no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Trusting X-Forwarded-Proto is right only behind a proxy that sets it (and strips a
    # client's own): name that header in PROXY_SSL_HEADER, e.g. X-Forwarded-Proto.
    if proxy_ssl_header := os.environ.get("PROXY_SSL_HEADER", "").strip():
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_ssl_header.upper().replace("-", "_"), "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Cookies only over https; `make run`, served over http on loopback, sets SECURE_COOKIES=false.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Behind proxies: how many hops append to X-Forwarded-For (TRUSTED_PROXY_COUNT), or which
# addresses and networks they have (TRUSTED_PROXIES, comma-separated); see accounts/addresses.py.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    # Only read when a schema is generated (the API's, by drf-spectacular): the sandbox never is.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The JSON API (dashboard/api/) sets its own authentication, permissions, throttles, renderers
# and error answers on its views: the defaults above stay the sandbox's.
SPECTACULAR_SETTINGS = {
    "TITLE": "WapiKit dashboard API",
    "DESCRIPTION": "Scripts and bots act on the team's WapiKit conversations with personal, scoped, revocable tokens.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The health check and the sandbox are DRF views too, but not the dashboard's API.
    "PREPROCESSING_HOOKS": ["dashboard.api.schema.only_api_routes"],
    # The default enum hook, and the links between the API's routes (ids from one answer into the next).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "dashboard.api.schema.with_links"],
}
# Calls one API token (or one signed-in user's browser) may make, counted in the shared cache;
# and all of one user's tokens and browser together, so more tokens do not mean more calls.
API_TOKEN_RATE = os.environ.get("API_TOKEN_RATE", "120/min")
API_USER_RATE = os.environ.get("API_USER_RATE", "240/min")
# Live (unexpired, unrevoked) tokens one user may hold.
API_TOKENS_PER_USER = int(os.environ.get("API_TOKENS_PER_USER", "10"))
# The share of each WapiKit route's budget the API leaves to the web dashboard: below it, API
# calls that need the route are refused (429) and the people using the dashboard keep working.
WAPIKIT_API_BUDGET_RESERVE = float(os.environ.get("WAPIKIT_API_BUDGET_RESERVE", "0.4"))

# The WapiKit upstream. The defaults point at the embedded sandbox that `make run` starts.
SANDBOX_HOST = os.environ.get("SANDBOX_HOST", "127.0.0.1")
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8001"))
WAPIKIT_BASE_URL = os.environ.get("WAPIKIT_BASE_URL", f"http://{SANDBOX_HOST}:{SANDBOX_PORT}/api")
WAPIKIT_API_KEY = os.environ.get("WAPIKIT_API_KEY", "sandbox-development-key")
WAPIKIT_AUTH_HEADER = os.environ.get("WAPIKIT_AUTH_HEADER", "x-access-token")
# "connect,read" in seconds, or one number for both.
WAPIKIT_TIMEOUT = os.environ.get("WAPIKIT_TIMEOUT", "3,10")
WAPIKIT_GET_RETRIES = int(os.environ.get("WAPIKIT_GET_RETRIES", "2"))
# A Retry-After longer than this is not waited out inside a request: the user is told instead.
WAPIKIT_MAX_RETRY_WAIT = float(os.environ.get("WAPIKIT_MAX_RETRY_WAIT", "2"))
# After this many upstream failures in a row, fail fast for the cooldown, then probe.
WAPIKIT_BREAKER_THRESHOLD = int(os.environ.get("WAPIKIT_BREAKER_THRESHOLD", "5"))
WAPIKIT_BREAKER_COOLDOWN = float(os.environ.get("WAPIKIT_BREAKER_COOLDOWN", "10"))
# Shared reads (dashboard/conversations/reads.py): how long an answer serves every user who asks for the
# same thing. Live events and the dashboard's own writes update cached conversations in place.
WAPIKIT_MEMBERS_CACHE_SECONDS = int(os.environ.get("WAPIKIT_MEMBERS_CACHE_SECONDS", "60"))
# Campaigns change rarely and only name the filter's choices: a long lifetime.
WAPIKIT_CAMPAIGNS_CACHE_SECONDS = int(os.environ.get("WAPIKIT_CAMPAIGNS_CACHE_SECONDS", "300"))
WAPIKIT_LIST_CACHE_SECONDS = int(os.environ.get("WAPIKIT_LIST_CACHE_SECONDS", "15"))
WAPIKIT_CONVERSATION_CACHE_SECONDS = int(os.environ.get("WAPIKIT_CONVERSATION_CACHE_SECONDS", "15"))
# The last copy of every answer, shown (with its age) while WapiKit's budget is used up.
WAPIKIT_STALE_COPY_SECONDS = int(os.environ.get("WAPIKIT_STALE_COPY_SECONDS", "86400"))
# How long what the dashboard learned of this WapiKit's quirks is kept (dashboard/wapikit/capabilities.py).
WAPIKIT_CAPABILITY_SECONDS = int(os.environ.get("WAPIKIT_CAPABILITY_SECONDS", "86400"))

# The scan behind views WapiKit cannot filter (by assignee, by text): pages of 50 read at most,
# how long the result is reused, and how many upstream calls run at once (scans and bulk actions).
WAPIKIT_SCAN_PAGES = int(os.environ.get("WAPIKIT_SCAN_PAGES", "10"))
WAPIKIT_SCAN_CACHE_SECONDS = int(os.environ.get("WAPIKIT_SCAN_CACHE_SECONDS", "30"))
WAPIKIT_CONCURRENCY = int(os.environ.get("WAPIKIT_CONCURRENCY", "8"))
# Without a total from WapiKit, the scan reads this many pages at a time until a short one.
WAPIKIT_SCAN_BATCH = int(os.environ.get("WAPIKIT_SCAN_BATCH", "3"))
# A bulk action's ticked ids at most ("Select all matching" is bounded by the scan instead), and
# bulk requests a user may send a minute, from the web and the API together.
BULK_MAX_IDS = int(os.environ.get("BULK_MAX_IDS", "200"))
BULK_REQUESTS_PER_MINUTE = int(os.environ.get("BULK_REQUESTS_PER_MINUTE", "10"))
# How often a visible inbox checks for changes; while live updates flow (pushed changes), only
# this often, in case a push was lost.
INBOX_REFRESH_SECONDS = int(os.environ.get("INBOX_REFRESH_SECONDS", "20"))
INBOX_LIVE_REFRESH_SECONDS = int(os.environ.get("INBOX_LIVE_REFRESH_SECONDS", "120"))
# How long a card's confirmation offers to undo a close, reopen, reassign or unassign.
ACTION_UNDO_SECONDS = int(os.environ.get("ACTION_UNDO_SECONDS", "30"))
# A bulk action on more conversations than this asks the user to confirm first.
BULK_CONFIRM_ABOVE = int(os.environ.get("BULK_CONFIRM_ABOVE", "5"))
# Response clocks' defaults, until an Owner sets the team's targets (/settings/targets/): minutes
# for the team's first answer to a customer, for each answer after it, and how long before either
# is due a clock warns; how long before WhatsApp's 24-hour reply window closes a card warns.
# The first three may be fractions of a minute (`make bench-day` compresses a day into minutes);
# whole numbers stay ints, as the targets form shows them.
def _minutes(name: str, default: str) -> int | float:
    value = float(os.environ.get(name, default))
    return int(value) if value.is_integer() else value


FIRST_RESPONSE_TARGET_MINUTES = _minutes("FIRST_RESPONSE_TARGET_MINUTES", "15")
NEXT_RESPONSE_TARGET_MINUTES = _minutes("NEXT_RESPONSE_TARGET_MINUTES", "60")
DUE_SOON_WARNING_MINUTES = _minutes("DUE_SOON_WARNING_MINUTES", "5")
REPLY_WINDOW_WARNING_MINUTES = int(os.environ.get("REPLY_WINDOW_WARNING_MINUTES", "120"))

# Plain text for a terminal (`make run`); LOG_FORMAT=json in production: one JSON object per
# line, with a line per request and per upstream call (dashboard/observability).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
# The per-request and per-upstream-call lines; in text mode only when asked for (runserver
# prints its own request lines).
LOG_REQUESTS = env_bool("LOG_REQUESTS", LOG_FORMAT == "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "dashboard.observability.logs.RequestContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # urllib3 logs full URLs at DEBUG (the events stream's carries the key); keep it quiet.
        "urllib3": {"level": "WARNING"},
        "dashboard.request": {"level": "INFO" if LOG_REQUESTS else "WARNING"},
        "dashboard.upstream": {"level": "INFO" if LOG_REQUESTS else "WARNING"},
    },
}

# The team's share of WapiKit's request budget (dashboard/wapikit/budget.py). WapiKit counts
# requests per client address and route; below this fraction of a route's limit, background
# reads (live refresh polling, tab counts, scans beyond the first page, the workload scan) stop.
WAPIKIT_BUDGET_RESERVE = float(os.environ.get("WAPIKIT_BUDGET_RESERVE", "0.2"))

# Background work (Django's Tasks: the timeline's reads, alerts) and the timeline's retention:
# dashboard/tasks_settings.py.
from dashboard.tasks_settings import *  # noqa: E402, F403

# WapiKit's live events and the browsers' live streams: dashboard/live_settings.py.
from dashboard.live_settings import *  # noqa: E402, F403

# /metrics (Prometheus): answered to a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`,
# or that connects from one of METRICS_ALLOWED_ADDRESSES (addresses or networks, comma-separated,
# the client address as accounts/addresses.py reads it). With neither, nobody may read it.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = os.environ.get("METRICS_ALLOWED_ADDRESSES", "")
