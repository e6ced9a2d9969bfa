"""Practice Desk settings: one module, every value from the environment with a safe local default.

Local runs need no configuration: SQLite under ``var/``, DEBUG off, a development secret key.
``PRACTICEDESK_PRODUCTION=true`` turns on the production rules (real secret key required,
HTTPS-only cookies, HSTS).
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from practicedesk.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("PRACTICEDESK_VAR_DIR", str(Path.cwd() / "var")))

DEVELOPMENT_SECRET_KEY = "practicedesk-development-key-not-for-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
PRODUCTION = env_bool("PRACTICEDESK_PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "PRACTICEDESK_PRODUCTION is on but SECRET_KEY is the development default. "
        "Set SECRET_KEY to a long random value (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))')."
    )
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production; unset DEBUG.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "auditlog",
    "csp",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "practicedesk.core",
    "practicedesk.patients",
    "practicedesk.scheduling",
    "practicedesk.billing",
    "practicedesk.dashboard",
    "practicedesk.api",
    "practicedesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "practicedesk.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "practicedesk.core.middleware.IdleLogoffMiddleware",
    "practicedesk.core.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "practicedesk.urls"
WSGI_APPLICATION = "practicedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "practicedesk.core.context_processors.navigation",
            ],
        },
    }
]

# SQLite: WAL so readers never wait for the writer, IMMEDIATE transactions so two writers
# queue on the lock instead of failing half-way with "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'practicedesk.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
else:
    # PostgreSQL compiles a query it estimates large (JIT) for 100-250 ms before running it;
    # the reports' queries over a month of a large ledger run in less than that uncompiled.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Nothing lives in process memory between requests: several app servers can share one database.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "practicedesk_cache",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Lockout after repeated failed logins (HIPAA 164.312(a)(1), (d)).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
# By account, not by address: a clinic's staff share one address behind its router, and one
# person's typos must not lock out the whole front desk.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Automatic logoff (HIPAA 164.312(a)(2)(iii)).
IDLE_LOGOFF_SECONDS = env_int("IDLE_LOGOFF_MINUTES", 15) * 60
SESSION_COOKIE_AGE = env_int("SESSION_MAX_HOURS", 12) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

OTP_TOTP_ISSUER = "Practice Desk"

# A strict Content-Security-Policy: everything from our own origin, nothing inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Joining the browsers' HSTS preload list binds the whole domain for months: the owner of
    # the domain decides that, so it is opt-in and its reminder (security.W021) is silenced.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Audit: every model's create/change/delete, with who and from where.
AUDITLOG_INCLUDE_ALL_MODELS = True
AUDITLOG_EXCLUDE_TRACKING_MODELS = (
    "sessions",
    "contenttypes",
    "admin.logentry",
    "auditlog.logentry",
    "axes",
    "django_tasks_db",
    "otp_totp.totpdevice",
    "authtoken",
    "core.auditevent",
    "core.workerheartbeat",
    "core.jobprogress",
    "core.sequence",
    # Derived figures, taken again from the ledger and the records (no patient in them):
    # the entries and records they sum are audited.
    "billing.receivablessnapshot",
    "billing.receivablessnapshotrow",
    "dashboard.kpimonth",
    "core.periodicrun",
)
AUDITLOG_EXCLUDE_TRACKING_FIELDS = ("last_login", "password")
AUDITLOG_MASK_TRACKING_FIELDS = ("key", "token_hash")
AUDITLOG_STORE_JSON_CHANGES = True

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Practice Desk API",
    "VERSION": "1",
    # Patients and their coverage's subscriber share one choice set; name it once.
    "ENUM_NAME_OVERRIDES": {
        "SexEnum": "practicedesk.patients.models.Patient.SexAtBirth",
        "ClaimStatusEnum": "practicedesk.billing.models.Claim.Status",
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# django-storages reads its AWS_* settings from the environment when S3 is chosen.
if "s3" in STORAGES["default"]["BACKEND"].lower():
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "") or None
    AWS_DEFAULT_ACL = None
    AWS_S3_FILE_OVERWRITE = False

DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_MB", 25) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Practice Desk <practicedesk@localhost>")

FILTERS_EMPTY_CHOICE_LABEL = "Any"
DJANGO_TABLES2_TEMPLATE = "core/partials/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"django_tasks": {"level": "INFO"}, "django_tasks_db": {"level": "INFO"}},
}

# The published password of the demo users (`practicedesk demo`); never used by real accounts.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "practicedesk-demo")

# Scheduling and patient flow.
LATE_CANCEL_HOURS = env_int("LATE_CANCEL_HOURS", 24)
FLOW_WAIT_LIMIT_MINUTES = env_int("FLOW_WAIT_LIMIT_MINUTES", 20)
REMINDER_HOURS_BEFORE = env_int("REMINDER_HOURS_BEFORE", 48)
REMINDER_LINK_VALID_HOURS = env_int("REMINDER_LINK_VALID_HOURS", 72)
CHART_CLOSURE_HOURS = env_int("CHART_CLOSURE_HOURS", 72)
SLOT_SEARCH_DAYS = env_int("SLOT_SEARCH_DAYS", 90)
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Billing.
UNDERPAYMENT_TOLERANCE = env_str("UNDERPAYMENT_TOLERANCE", "0.50")
X12_SENDER_ID = env_str("X12_SENDER_ID", "PRACTICEDESK")
X12_RECEIVER_ID = env_str("X12_RECEIVER_ID", "CLEARINGHOUSE")
X12_USAGE_INDICATOR = env_str("X12_USAGE_INDICATOR", "T")
# Payments: the practice's returned-check (NSF) fee, capped by the state's legal limit; the
# days a payment plan may stay delinquent before the account returns to collections; the
# federal poverty guideline (HHS 2025, 48 states and DC) the sliding-scale bands refer to.
RETURNED_CHECK_FEE = env_str("RETURNED_CHECK_FEE", "25.00")
RETURNED_CHECK_FEE_STATE_CAP = env_str("RETURNED_CHECK_FEE_STATE_CAP", "25.00")
PLAN_GRACE_DAYS = env_int("PLAN_GRACE_DAYS", 15)
POVERTY_GUIDELINE_BASE = env_str("POVERTY_GUIDELINE_BASE", "15650")
POVERTY_GUIDELINE_PER_PERSON = env_str("POVERTY_GUIDELINE_PER_PERSON", "5500")
# Statements: the cycle day (a short month uses its last day), whether the worker starts the
# run itself, the smallest balance billed, days until due, and how to pay (empty: front desk,
# phone and mail). Collections: the smallest past-due balance worked, the local hours a call
# may be logged (8-21: 8:00 to 20:59), the days after a promised date before it is broken.
STATEMENT_CYCLE_DAY = env_int("STATEMENT_CYCLE_DAY", 1)
STATEMENT_AUTO_RUN = env_bool("STATEMENT_AUTO_RUN", False)
STATEMENT_MINIMUM_BALANCE = env_str("STATEMENT_MINIMUM_BALANCE", "5.00")
STATEMENT_DUE_DAYS = env_int("STATEMENT_DUE_DAYS", 21)
STATEMENT_PAYMENT_INSTRUCTIONS = env_str("STATEMENT_PAYMENT_INSTRUCTIONS", "")
COLLECTIONS_MINIMUM_BALANCE = env_str("COLLECTIONS_MINIMUM_BALANCE", "25.00")
COLLECTIONS_CONTACT_HOURS = env_str("COLLECTIONS_CONTACT_HOURS", "8-21")
COLLECTIONS_PROMISE_GRACE_DAYS = env_int("COLLECTIONS_PROMISE_GRACE_DAYS", 3)
# The clearinghouse's name on an 837P (1000B); its id is X12_RECEIVER_ID.
X12_RECEIVER_NAME = env_str("X12_RECEIVER_NAME", "CLEARINGHOUSE")
