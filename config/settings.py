"""Kruzhok settings: one file, every value from an environment variable with a development default.

KRUZHOK_ENV picks the profile: "development" (default: SQLite, tasks in process, no servers needed)
or "production" (PostgreSQL, Redis, Celery, secure cookies). All variables are listed in .env.example.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

KRUZHOK_ENV = env_str("KRUZHOK_ENV", "development")
if KRUZHOK_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"KRUZHOK_ENV must be development or production, got {KRUZHOK_ENV!r}")
IS_PRODUCTION = KRUZHOK_ENV == "production"

DEBUG = env_bool("DEBUG", default=not IS_PRODUCTION)
SECRET_KEY = env_secret(
    "SECRET_KEY", "" if IS_PRODUCTION else "dev-only-insecure-key-change-me-in-production"
)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is required in production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "kruzhok.core",
    "kruzhok.accounts",
    "kruzhok.school",
    "kruzhok.attendance",
    "kruzhok.homework",
    "kruzhok.family",
    "kruzhok.gamification",
    "kruzhok.demo",
    "kruzhok.billing",
    "kruzhok.messaging",
    "kruzhok.feedback",
    "kruzhok.risk",
    "kruzhok.analytics",
    "kruzhok.reports",
    "kruzhok.dataquality",
    "kruzhok.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kruzhok.core.middleware.RussianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kruzhok.accounts.middleware.ActiveOrganizationMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "kruzhok.accounts.context_processors.navigation",
            ],
        },
    },
]

# DATABASE_URL decides the engine for every command, the test suite included.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'kruzhok.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # WAL lets readers work while a writer commits; IMMEDIATE takes the write lock up front so two
    # writers queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif IS_PRODUCTION:
    raise ImproperlyConfigured("REDIS_URL is required in production")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a broker in production; in the embedded set-up tasks run in the calling process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not IS_PRODUCTION)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Europe/Moscow"
CELERY_BEAT_SCHEDULE = {
    "risk-score-nightly": {"task": "kruzhok.risk.tasks.risk_score_all_task", "schedule": 60 * 60 * 24},
    "risk-train-weekly": {"task": "kruzhok.risk.tasks.risk_train_all_task", "schedule": 60 * 60 * 24 * 7},
    # Escalate unacknowledged alerts, settle how earlier alerts ended (docs/risk.md "Alerts").
    "risk-alerts-daily": {"task": "kruzhok.risk.tasks.risk_alerts_daily_task", "schedule": 60 * 60 * 24},
    "generate-lessons-nightly": {
        "task": "kruzhok.school.tasks.lessons_generate_all_task",
        "schedule": 60 * 60 * 6,
    },
    # Renewal reminders and "renewal missed" events for early warning, once a day.
    "billing-renewals-daily": {
        "task": "kruzhok.billing.tasks.billing_renewals_task",
        "schedule": 60 * 60 * 24,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Русский")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Moscow"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# A huge body is refused before any view parses it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

LESSON_HORIZON_DAYS = env_int("LESSON_HORIZON_DAYS", 56)

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=IS_PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=IS_PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", IS_PRODUCTION) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Messaging (kruzhok/messaging, docs/messaging.md): SMTP for email, the Telegram Bot API base URL (a
# local fake server in tests), and the outbox worker's timings.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Кружок <noreply@kruzhok.local>")
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org")
MESSAGING_SEND_TIMEOUT = env_int("MESSAGING_SEND_TIMEOUT", 10)
MESSAGING_CLAIM_TIMEOUT = env_int("MESSAGING_CLAIM_TIMEOUT", 300)
MESSAGING_MAX_RETRIES = env_int("MESSAGING_MAX_RETRIES", 5)
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = env_secret("SMS_GATEWAY_TOKEN", "")
SMS_SENDER = env_str("SMS_SENDER", "Kruzhok")
# Web Push: the application server's VAPID key pair (base64url); empty disables browser notifications.
VAPID_PRIVATE_KEY = env_secret("VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:admin@kruzhok.local")
CELERY_BEAT_SCHEDULE["messaging-send-outbox"] = {
    "task": "kruzhok.messaging.tasks.outbox_drain_task",
    "schedule": 15,
}
CELERY_BEAT_SCHEDULE["messaging-weekly-digest"] = {
    "task": "kruzhok.messaging.tasks.weekly_digest_task",
    "schedule": 60 * 60 * 6,  # acts only on MESSAGING_DIGEST_WEEKDAY, once per ISO week
}
MESSAGING_DIGEST_WEEKDAY = env_int("MESSAGING_DIGEST_WEEKDAY", 6)  # 0 = Monday … 6 = Sunday
# Sentiment (docs/sentiment.md): optional local Hugging Face model directory; empty = the committed linear model.
SENTIMENT_TRANSFORMER_PATH = env_str("SENTIMENT_TRANSFORMER_PATH", "")
# A push not confirmed within its window moves on to the next channel (docs/messaging.md).
CELERY_BEAT_SCHEDULE["messaging-unconfirmed"] = {
    "task": "kruzhok.messaging.tasks.deliveries_unconfirmed_task",
    "schedule": 60,
}
CELERY_BEAT_SCHEDULE["messaging-lesson-reminders"] = {
    "task": "kruzhok.messaging.tasks.lesson_reminders_task",
    "schedule": 60 * 15,
}
# Parent surveys (NPS) after the Nth lesson and then on each centre's schedule (docs/messaging.md).
CELERY_BEAT_SCHEDULE["feedback-surveys-daily"] = {
    "task": "kruzhok.feedback.tasks.surveys_send_task",
    "schedule": 60 * 60 * 6,
}

# Early warning (kruzhok/risk, docs/risk.md): the label is "drops out within the next N days"; an alert
# opens at or above the threshold probability; trained models are joblib files under RISK_MODEL_DIR.
# The threshold and the weekly budget are defaults: each organisation may set its own (RiskSettings).
RISK_HORIZON_DAYS = env_int("RISK_HORIZON_DAYS", 30)
RISK_ALERT_THRESHOLD = float(env_str("RISK_ALERT_THRESHOLD", "0.5"))
RISK_ALERTS_PER_TEACHER_WEEK = env_int("RISK_ALERTS_PER_TEACHER_WEEK", 5)
RISK_MODEL_DIR = Path(env_str("RISK_MODEL_DIR", str(BASE_DIR / "var" / "models")))

# Reports and the data-quality monitor (kruzhok/reports, kruzhok/dataquality, docs/reports.md): a
# generated file is stored in its ReportRun row and refused above REPORTS_MAX_BYTES.
REPORTS_MAX_BYTES = env_int("REPORTS_MAX_BYTES", 50 * 1024 * 1024)
# In development and the demo a report runs in a thread started after its row commits: the eager task
# would finish it inside the request, and its progress bar would never be seen. Tests keep the eager
# task (conftest.py); production has a worker.
REPORTS_IN_THREAD = env_bool("REPORTS_IN_THREAD", default=CELERY_TASK_ALWAYS_EAGER and not IS_PRODUCTION)
CELERY_BEAT_SCHEDULE["reports-scheduled-daily"] = {
    "task": "kruzhok.reports.tasks.reports_schedules_task",
    "schedule": 60 * 60 * 24,  # each schedule mails once per month, on or after its day
}
CELERY_BEAT_SCHEDULE["dataquality-daily"] = {
    "task": "kruzhok.dataquality.tasks.dataquality_daily_task",
    "schedule": 60 * 60 * 24,  # snapshot, reminders about unmarked lessons, digest to managers
}
# Analytics monthly facts counted from scratch nightly (kruzhok/analytics/facts.py, docs/analytics.md).
CELERY_BEAT_SCHEDULE["analytics-facts-nightly"] = {
    "task": "kruzhok.analytics.tasks.analytics_facts_rebuild_task",
    "schedule": 60 * 60 * 24,
}
