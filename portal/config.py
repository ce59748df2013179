"""Configuration read from the environment.

Development and tests need no setup at all; production refuses to start
without a strong SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _development_secret(instance: Path) -> str:
    path = instance / "secret.key"
    try:
        key = path.read_text("utf-8").strip()
        if not key:  # another process has just created it and is writing it
            time.sleep(0.2)
            key = path.read_text("utf-8").strip()
        return key or secrets.token_hex(32)
    except FileNotFoundError:
        pass
    except OSError:
        return secrets.token_hex(32)
    key = secrets.token_hex(32)
    try:
        instance.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when two processes start together, the first file wins for both.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key)
    except FileExistsError:
        return path.read_text("utf-8").strip() or key
    except OSError:
        pass  # a read-only instance folder: a key per process, as before
    return key


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or unusable."""


class Config:
    """Development defaults; every value can be overridden from the environment."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    def __init__(self, instance_path: str | None = None) -> None:
        instance = Path(instance_path or "instance")
        default_db = f"sqlite:///{(instance / 'portal.db').resolve()}"
        # Development without SECRET_KEY: a random key kept in instance/secret.key, so the
        # web server and the job worker (separate processes) seal and open job payloads
        # and campaign links with the same key. Production must set SECRET_KEY.
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret(instance)
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            os.environ.get("DATABASE_URL") or default_db
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        # A moving window: no burst of twice the limit across a window's edge.
        self.RATELIMIT_STRATEGY = "moving-window"
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_DEFAULT_SENDER = os.environ.get(
            "MAIL_DEFAULT_SENDER", "Member feedback portal <no-reply@localhost>"
        )
        self.PRIVACY_MIN_N = _env_int("PRIVACY_MIN_N", 10)
        # Job queue (portal/jobs/): Huey on Redis when REDIS_URL is set, else on a
        # SQLite file beside the database (no other service).
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.JOBS_BACKEND = os.environ.get("JOBS_BACKEND") or (
            "redis" if self.REDIS_URL else "sqlite")
        # Beside the database it serves, so two databases never share a queue.
        self.JOBS_SQLITE_PATH = os.environ.get("JOBS_SQLITE_PATH") or jobs_sqlite_path(
            self.SQLALCHEMY_DATABASE_URI, instance)
        self.JOBS_IMMEDIATE = _env_bool("JOBS_IMMEDIATE", False)
        # The queue's name in its storage: portals sharing one Redis need their own.
        self.JOBS_QUEUE_NAME = os.environ.get("JOBS_QUEUE_NAME", "portal")
        self.JOBS_WORKERS = _env_int("JOBS_WORKERS", 2)
        self.JOBS_MAX_ATTEMPTS = _env_int("JOBS_MAX_ATTEMPTS", 8)
        self.JOBS_RETRY_BASE_SECONDS = _env_int("JOBS_RETRY_BASE_SECONDS", 30)
        self.JOBS_LEASE_SECONDS = _env_int("JOBS_LEASE_SECONDS", 300)
        # My activity mail on the scheduler's clock (portal/feedback/notify.py): daily
        # and weekly digests, and "at once" mail for surveys and rounds.
        self.ACTIVITY_DIGESTS = _env_bool("ACTIVITY_DIGESTS", True)
        # Campaigns (portal/campaigns/): messages claimed per batch, parallel send jobs
        # per wave, how long a claimed message stays a worker's, tries before "failed".
        self.CAMPAIGN_BATCH_SIZE = _env_int("CAMPAIGN_BATCH_SIZE", 100)
        self.CAMPAIGN_SEND_JOBS = _env_int("CAMPAIGN_SEND_JOBS", 2)
        self.CAMPAIGN_LEASE_SECONDS = _env_int("CAMPAIGN_LEASE_SECONDS", 60)
        self.CAMPAIGN_MAX_ATTEMPTS = _env_int("CAMPAIGN_MAX_ATTEMPTS", 10)
        self.CAMPAIGN_RETRY_BASE_SECONDS = _env_int("CAMPAIGN_RETRY_BASE_SECONDS", 60)
        self.CAMPAIGN_HARD_BOUNCE_LIMIT = _env_int("CAMPAIGN_HARD_BOUNCE_LIMIT", 3)
        # The SMTP provider's limits, shared by every worker (0: no limit).
        self.MAIL_RATE_PER_SECOND = _env_int("MAIL_RATE_PER_SECOND", 0)
        self.MAIL_RATE_PER_HOUR = _env_int("MAIL_RATE_PER_HOUR", 0)
        # Seals survey drafts and the anonymous answers waiting in the mixing pool
        # (portal/sealing.py). Never stored in the database. Development
        # falls back to a key file beside the database; production has no fallback.
        self.ANONYMITY_KEY = os.environ.get("ANONYMITY_KEY", "")
        # Anonymous answers released together (never fewer than PRIVACY_MIN_N): a
        # larger batch keeps more segment detail but makes answers wait longer.
        self.ANONYMOUS_BATCH_SIZE = _env_int("ANONYMOUS_BATCH_SIZE", 100)
        # Report snapshots: a rating counts towards a slice's next step only if it
        # changed this many seconds after the copy (clock skew between app hosts).
        self.REPORT_SNAPSHOT_SKEW_SECONDS = _env_int("REPORT_SNAPSHOT_SKEW_SECONDS", 1)
        self.ANONYMITY_KEY_FILE = str((instance / "anonymity.key").resolve())
        self.PRIVACY_MIN_COMMENTS = _env_int("PRIVACY_MIN_COMMENTS", 20)
        self.FLAGS_TO_HIDE = _env_int("FLAGS_TO_HIDE", 3)
        self.SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 60)
        self.SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
        self.REMEMBER_COOKIE_DAYS = _env_int("REMEMBER_COOKIE_DAYS", 14)
        self.REMEMBER_COOKIE_DURATION = timedelta(days=self.REMEMBER_COOKIE_DAYS)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        self.SERVER_NAME = os.environ.get("SERVER_NAME") or None
        self.PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
        # Anonymous visitors share a copy of each public page for this many seconds
        # (0: never). Per process; see portal/pagecache.py.
        self.PUBLIC_PAGE_CACHE_SECONDS = _env_int("PUBLIC_PAGE_CACHE_SECONDS", 5)
        self.ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _env_int("ARGON2_MEMORY_COST", 65536)
        self.ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 4)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead
        self.HSTS = False
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        # Accounts ---------------------------------------------------------
        # Links in e-mails and CLI output start with this, never with the Host header.
        self.BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.SESSION_ABSOLUTE_HOURS)
        self.RECENT_LOGIN_MINUTES = _env_int("RECENT_LOGIN_MINUTES", 15)
        self.PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 60)
        self.VERIFY_TOKEN_HOURS = _env_int("VERIFY_TOKEN_HOURS", 48)
        self.SET_PASSWORD_HOURS = _env_int("SET_PASSWORD_HOURS", 72)
        self.INVITATION_DAYS = _env_int("INVITATION_DAYS", 14)
        self.REGISTRATION_MODE = os.environ.get("REGISTRATION_MODE", "open")
        # Sign-in throttle (portal/auth/throttle.py): it slows guessing without ever
        # locking the owner out. Failures of one (address, client) pair are free up to
        # SIGNIN_FREE_FAILURES, then each waits twice as long as the one before, from
        # SIGNIN_DELAY_BASE_SECONDS up to SIGNIN_DELAY_MAX_SECONDS.
        self.SIGNIN_FREE_FAILURES = _env_int("SIGNIN_FREE_FAILURES", 3)
        self.SIGNIN_DELAY_BASE_SECONDS = _env_int("SIGNIN_DELAY_BASE_SECONDS", 2)
        self.SIGNIN_DELAY_MAX_SECONDS = _env_int("SIGNIN_DELAY_MAX_SECONDS", 900)
        # When this many clients have failed on one address, clients without a device
        # cookie wait too, growing the same way up to SIGNIN_ACCOUNT_DELAY_MAX_SECONDS.
        self.SIGNIN_ACCOUNT_CLIENTS = _env_int("SIGNIN_ACCOUNT_CLIENTS", 10)
        self.SIGNIN_ACCOUNT_DELAY_MAX_SECONDS = _env_int("SIGNIN_ACCOUNT_DELAY_MAX_SECONDS", 60)
        # Failures older than this no longer count (and their rows are purged).
        self.SIGNIN_WINDOW_MINUTES = _env_int("SIGNIN_WINDOW_MINUTES", 60)
        # Failures since the last sign-in that earn the owner a notice and an e-mail
        # (the e-mail at most once a day).
        self.SIGNIN_ALERT_FAILURES = _env_int("SIGNIN_ALERT_FAILURES", 5)
        self.SIGNIN_LINK_MINUTES = _env_int("SIGNIN_LINK_MINUTES", 15)
        self.DEVICE_COOKIE_DAYS = _env_int("DEVICE_COOKIE_DAYS", 180)
        self.RATELIMIT_AUTH_PER_IP = os.environ.get(
            "RATELIMIT_AUTH_PER_IP", "20 per minute;200 per hour")
        self.RATELIMIT_AUTH_PER_ACCOUNT = os.environ.get(
            "RATELIMIT_AUTH_PER_ACCOUNT", "10 per minute;50 per hour")
        # Single sign-on (portal/sso/): client secrets are read from SSO_* environment
        # variables or from files in SSO_SECRETS_DIR, never from the database.
        self.SSO_SECRETS_DIR = os.environ.get("SSO_SECRETS_DIR", "")
        self.SSO_HTTP_TIMEOUT_SECONDS = _env_int("SSO_HTTP_TIMEOUT_SECONDS", 5)
        self.SSO_METADATA_CACHE_SECONDS = _env_int("SSO_METADATA_CACHE_SECONDS", 300)
        self.SSO_CLOCK_SKEW_SECONDS = _env_int("SSO_CLOCK_SKEW_SECONDS", 60)
        self.SSO_FLOW_MINUTES = _env_int("SSO_FLOW_MINUTES", 10)
        self.SSO_LINK_MINUTES = _env_int("SSO_LINK_MINUTES", 30)
        # Plain-http providers are accepted on 127.0.0.1 only, unless this is set.
        self.SSO_ALLOW_HTTP = _env_bool("SSO_ALLOW_HTTP", False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self, instance_path: str | None = None) -> None:
        super().__init__(instance_path)
        self.SECRET_KEY = "test-secret-key-" + "x" * 32
        url = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(url)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.MAIL_BACKEND = "memory"
        # Jobs run when they are handed over, each in an app context of its own.
        self.JOBS_BACKEND = "memory"
        self.JOBS_IMMEDIATE = True
        self.RATELIMIT_STORAGE_URI = "memory://"
        # Limits are proven by the tests that switch them on; everywhere else
        # they would only make a suite that signs in hundreds of times flaky.
        self.RATELIMIT_ENABLED = False
        # Every test sees the page as it is now; the page cache has tests of its own.
        self.PUBLIC_PAGE_CACHE_SECONDS = 0
        # Argon2 at its cheapest: tests hash thousands of passwords.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_COST = 8
        self.ARGON2_PARALLELISM = 1
        self.SERVER_NAME = None
        self.ANONYMITY_KEY = secrets.token_hex(32)
        self.ANONYMITY_KEY_FILE = ""
        self.ANONYMOUS_BATCH_SIZE = 0  # batches of PRIVACY_MIN_N
        self.REPORT_SNAPSHOT_SKEW_SECONDS = 0  # one process, one clock
        # Digests are proven by their own tests; elsewhere a scheduler tick would mail
        # every member with a survey waiting.
        self.ACTIVITY_DIGESTS = False


class ProductionConfig(Config):
    ENV_NAME = "production"

    def __init__(self, instance_path: str | None = None) -> None:
        super().__init__(instance_path)
        key = os.environ.get("SECRET_KEY", "")
        if len(key.encode()) < 32 or len(set(key)) < 16:
            raise ConfigError(
                "SECRET_KEY must be set to at least 32 random bytes in production "
                '(for example: python -c "import secrets; print(secrets.token_hex(32))").'
            )
        if _env_bool("FLASK_DEBUG", False):
            raise ConfigError("Debug mode must be off in production.")
        self.SECRET_KEY = key
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
        self.HSTS = True
        # No key file in production: a missing ANONYMITY_KEY stops anonymous surveys.
        self.ANONYMITY_KEY_FILE = ""


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProductionConfig}


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def jobs_sqlite_path(database_url: str, instance: Path) -> str:
    """`instance/portal.db` -> `instance/portal.jobs.db`; other databases: instance/jobs.db."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and len(database_url) > len(prefix):
        path = Path(database_url[len(prefix):])
        return str(path.with_name(path.stem + ".jobs.db"))
    return str((instance / "jobs.db").resolve())


def engine_options(url: str) -> dict:
    """Engine options per backend: a busy timeout on SQLite; on a server, recycled
    connections and no pre-ping round trip on every request (portal.database refuses
    connections the server closed and retries the first query on a dead one)."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800}
