"""Settings read from the environment, parsed and checked once in ``create_app``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .sla.settings import ENV_KEYS as SLA_ENV_KEYS
from .sla.settings import SlaSettings, load_sla_settings


class ConfigError(SystemExit):
    """A setting is missing or malformed; the message names the variable.

    A ``SystemExit``: whatever starts the service (``flask …``, ``worker.py``, gunicorn's master
    through ``gunicorn.conf.py``) stops with this French sentence on stderr and status 1, not a
    traceback, and no ``except Exception`` on the way can swallow it and start half-configured.
    """

    def __str__(self) -> str:
        return str(self.code)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
WORKER_QUEUES = ("pipeline", "email")


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail relay (``CATALOGUE_SMTP_*``); the password is never logged."""

    host: str
    port: int
    # "starttls": plain connection upgraded with STARTTLS (required, never opportunistic: a relay
    # that does not offer it fails the send instead of sending in clear); "tls": TLS from the
    # first byte (smtps://); "none": clear text, for a relay on the same machine or network.
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    # Verification of the relay's certificate is always on; a private CA is trusted with a file.
    ca_file: str | None = None


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, typed."""

    database_url: str
    redis_url: str | None
    smtp_host: str | None
    smtp_port: int | None
    propagation_delay: int
    secret_key: str
    mail_from: str
    base_url: str
    embedded: bool
    instance_path: str
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    max_content_length: int = 256 * 1024
    claim_lapse_seconds: int = 3600
    outbox_lease_seconds: int = 120
    # Unset: /metrics answers only a scraper on this machine (loopback, no proxy header between).
    metrics_token: str | None = None
    # Where /metrics is served (CATALOGUE_METRICS): "app" on the service's own port, "off"
    # nowhere, "listen" only on metrics_listen (host, port), a listener of its own.
    metrics: str = "app"
    metrics_listen: tuple[str, int] | None = None
    smtp: SmtpSettings | None = None
    log_level: str = "INFO"
    # worker.py's defaults (its command line wins): the queue, the sweeper's period, the job cap.
    worker_queue: str = "pipeline"
    sweep_interval: float = 10.0
    job_timeout: int = 0
    # Limits overridden by name: {"login-ip": (max, window seconds)}.
    ratelimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # Reverse proxies in front of the service whose X-Forwarded-* headers are believed (ProxyFix).
    trusted_proxies: int = 0
    # Days kept by `flask purge` for done outbox rows, expired sessions, codes, idempotency keys.
    retention_days: int = 30
    # Where documents joined to requests are kept (None: ``<instance>/documents``).
    documents_dir: str | None = None
    # Business calendar and validation targets (catalogue_svc.sla.settings).
    sla: SlaSettings = field(default_factory=SlaSettings)

    def as_flask_config(self) -> dict[str, object]:
        """The Flask config keys derived from these settings."""
        return {
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SECRET_KEY": self.secret_key,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "CATALOGUE_SETTINGS": self,
        }


def _embedded_secret(instance: Path) -> str:
    """The embedded mode keeps a generated key under ``instance/`` so codes survive a restart."""
    path = instance / "secret_key"
    try:
        existing = path.read_text().strip()
        if len(existing) >= 32:
            return existing
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un nombre entier (reçu : {raw!r}).") from None
    if not minimum <= value <= maximum:
        raise ConfigError(
            f"{name} doit être compris entre {minimum} et {maximum} (reçu : {value})."
        )
    return value


def _check_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        # SQLAlchemy wants an explicit driver; psycopg 3 is the one installed.
        if scheme in ("postgres", "postgresql"):
            url = "postgresql+psycopg" + url[len(scheme) :]
        return url
    if scheme.startswith("sqlite"):
        return url
    raise ConfigError(
        f"DATABASE_URL doit commencer par postgresql:// ou sqlite:/// (reçu : {scheme or url!r})."
    )


def _check_redis_url(url: str) -> str:
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL doit commencer par redis://, rediss:// ou unix://.")
    return url


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "oui", "on"):
        return True
    if value in ("0", "false", "no", "non", "off", ""):
        return False
    raise ConfigError(f"{name} doit valoir 1 ou 0 (reçu : {raw!r}).")


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    raw = env.get("CATALOGUE_SMTP_URL", "")
    if not raw:
        return None
    name = "CATALOGUE_SMTP_URL"
    parts = urlsplit(raw)
    # Never echo the URL itself: it may hold the password.
    shown = f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else "(valeur masquée)"
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            f"{name} doit avoir la forme smtp://hôte:port ou smtps://hôte:port (reçu : {shown!r})."
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} : le port est invalide (reçu : {shown!r}).") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ConfigError(
            f"{name} : paramètre inconnu {', '.join(unknown)} (seul starttls=1 est accepté)."
        )
    starttls = _flag(f"{name} (starttls)", query.get("starttls", "0"))
    if parts.scheme == "smtps":
        if starttls:
            raise ConfigError(f"{name} : starttls ne s'emploie qu'avec smtp://, pas smtps://.")
        security = "tls"
    else:
        security = "starttls" if starttls else "none"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if env.get("CATALOGUE_SMTP_USER"):
        username = env["CATALOGUE_SMTP_USER"]
    if env.get("CATALOGUE_SMTP_PASSWORD"):
        password = env["CATALOGUE_SMTP_PASSWORD"]
    if password and not username:
        raise ConfigError(
            "CATALOGUE_SMTP_PASSWORD : un mot de passe SMTP demande aussi un utilisateur "
            "(dans CATALOGUE_SMTP_URL ou CATALOGUE_SMTP_USER)."
        )
    if username and security == "none":
        raise ConfigError(
            f"{name} : un utilisateur SMTP demande une connexion chiffrée "
            "(smtps:// ou smtp://…?starttls=1), sinon le mot de passe passerait en clair."
        )
    ca_file = env.get("CATALOGUE_SMTP_CA_FILE") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError(
            f"CATALOGUE_SMTP_CA_FILE doit désigner un fichier lisible (reçu : {ca_file!r})."
        )
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if security == "tls" else 25),
        security=security,
        username=username,
        password=password,
        timeout=_float(env, "CATALOGUE_SMTP_TIMEOUT", 10.0, 1.0, 300.0),
        ca_file=ca_file,
    )


def _float(
    env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float
) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un nombre (reçu : {raw!r}).") from None
    if not minimum <= value <= maximum:
        raise ConfigError(
            f"{name} doit être compris entre {minimum:g} et {maximum:g} (reçu : {value:g})."
        )
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name) or default
    value = raw.strip()
    if name == "CATALOGUE_LOG_LEVEL":
        value = value.upper()
    if value not in allowed:
        raise ConfigError(f"{name} doit valoir {' ou '.join(allowed)} (reçu : {raw!r}).")
    return value


def _metrics(env: Mapping[str, str]) -> tuple[str, tuple[str, int] | None]:
    """``app`` (the default), ``off``, or where the metrics listener listens: ``9102`` (on
    loopback) or ``host:9102``."""
    name = "CATALOGUE_METRICS"
    raw = env.get(name) or "app"
    value = raw.strip().lower()
    if value in ("app", "off"):
        return value, None
    host, colon, port = value.rpartition(":")
    host = host if colon else "127.0.0.1"
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"{name} doit valoir app, off, un port (9102) ou hôte:port (127.0.0.1:9102) "
            f"(reçu : {raw!r})."
        )
    return "listen", (host, int(port))


def _ratelimits(raw: object) -> dict[str, tuple[int, int]]:
    """``login-ip=5/60,signup-ip=10/3600``: at most 5 in 60 s for login-ip, and so on."""
    name = "CATALOGUE_RATELIMITS"
    if isinstance(raw, Mapping):  # create_app({"CATALOGUE_RATELIMITS": {...}}), as in the tests
        return {str(k): (int(v[0]), int(v[1])) for k, v in raw.items()}
    text = str(raw or "").strip()
    limits: dict[str, tuple[int, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        limit, _, rule = item.partition("=")
        maximum, _, window = rule.partition("/")
        try:
            value = (int(maximum), int(window))
        except ValueError:
            value = (0, 0)
        if not limit.strip() or value[0] < 1 or value[1] < 1:
            raise ConfigError(
                f"{name} : « {item} » doit avoir la forme nom=maximum/secondes, "
                "par exemple login-ip=30/300."
            )
        limits[limit.strip()] = value
    return limits


ENV_KEYS = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "CATALOGUE_SMTP_URL",
        "CATALOGUE_PROPAGATION_DELAY",
        "CATALOGUE_SECRET_KEY",
        "CATALOGUE_MAIL_FROM",
        "CATALOGUE_BASE_URL",
        "CATALOGUE_INSTANCE_PATH",
        "CATALOGUE_SESSION_IDLE",
        "CATALOGUE_SESSION_ABSOLUTE",
        "CATALOGUE_CLAIM_LAPSE",
        "CATALOGUE_OUTBOX_LEASE",
        "CATALOGUE_METRICS_TOKEN",
        "CATALOGUE_METRICS",
        "CATALOGUE_SMTP_USER",
        "CATALOGUE_SMTP_PASSWORD",
        "CATALOGUE_SMTP_TIMEOUT",
        "CATALOGUE_SMTP_CA_FILE",
        "CATALOGUE_LOG_LEVEL",
        "CATALOGUE_QUEUE",
        "CATALOGUE_SWEEP_INTERVAL",
        "CATALOGUE_JOB_TIMEOUT",
        "CATALOGUE_RATELIMITS",
        "CATALOGUE_TRUSTED_PROXIES",
        "CATALOGUE_RETENTION_DAYS",
        "CATALOGUE_DOCUMENTS_DIR",
        *SLA_ENV_KEYS,
        # The web role under gunicorn (gunicorn.conf.py) and its metrics across workers.
        "PORT",
        "WEB_CONCURRENCY",
        "GUNICORN_TIMEOUT",
        "PROMETHEUS_MULTIPROC_DIR",
    }
)

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory() -> str | None:
    """Where every web worker writes its metrics (prometheus-client's multiprocess mode)."""
    value = os.environ.get(METRICS_DIR)
    return str(value) if value else None


def use_metrics_directory(path: str) -> None:
    """Make ``path`` the metrics directory of this process and the workers it starts."""
    os.environ[METRICS_DIR] = path


@dataclass(frozen=True)
class WebSettings:
    """gunicorn's settings for the ``web`` role (``gunicorn.conf.py``)."""

    bind: str
    workers: int
    timeout: int
    loglevel: str


def load_web_settings(environ: Mapping[str, object] | None = None) -> WebSettings:
    """``PORT`` (5000), ``WEB_CONCURRENCY`` (2 workers), ``GUNICORN_TIMEOUT`` (30 s) and the log
    level, each checked: a bad value stops the start with a sentence naming the variable."""
    env = environment() if environ is None else dict(environ)

    def whole(name: str, default: int, low: int, high: int) -> int:
        raw = str(env.get(name) or default).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ConfigError(
                f"{name} doit être un nombre entier de {low} à {high} (reçu : {raw!r})."
            )
        return int(raw)

    level = str(env.get("CATALOGUE_LOG_LEVEL") or "info").strip().lower()
    if level not in ("debug", "info", "warning", "error", "critical"):
        raise ConfigError(
            "CATALOGUE_LOG_LEVEL doit valoir debug, info, warning, error ou critical "
            f"(reçu : {level!r})."
        )
    return WebSettings(
        bind=f"0.0.0.0:{whole('PORT', 5000, 1, 65535)}",
        workers=whole("WEB_CONCURRENCY", 2, 1, 64),
        timeout=whole("GUNICORN_TIMEOUT", 30, 1, 3600),
        loglevel=level,
    )


def environment(overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    """The process environment, with ``overrides`` (create_app's config) for the known keys.

    The one place the process environment is read: a test fails if another module does.
    """
    env: dict[str, object] = dict(os.environ)
    for key, value in (overrides or {}).items():
        if key in ENV_KEYS:
            env[key] = value if isinstance(value, Mapping) else str(value)
    return env


def load_settings(environ: Mapping[str, object] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError naming the first bad variable."""
    source = environment() if environ is None else environ
    env = {k: v for k, v in source.items() if isinstance(v, str)}
    instance = Path(env.get("CATALOGUE_INSTANCE_PATH") or Path.cwd() / "instance")
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'catalogue.sqlite3'}"
    database_url = _check_database_url(database_url)
    redis_url = env.get("REDIS_URL") or None
    if redis_url:
        redis_url = _check_redis_url(redis_url)
    smtp = _smtp(env)
    embedded = redis_url is None and database_url.startswith("sqlite")
    secret_key = env.get("CATALOGUE_SECRET_KEY", "")
    if not secret_key:
        if not embedded:
            raise ConfigError(
                "CATALOGUE_SECRET_KEY est obligatoire hors du mode embarqué "
                "(DATABASE_URL PostgreSQL ou REDIS_URL défini)."
            )
        secret_key = _embedded_secret(instance)
    elif len(secret_key) < 32:
        raise ConfigError("CATALOGUE_SECRET_KEY doit compter au moins 32 caractères.")
    mail_from = (
        env.get("CATALOGUE_MAIL_FROM") or "Services en ligne <ne-pas-repondre@catalogue.local>"
    )
    if "@" not in mail_from:
        raise ConfigError(
            f"CATALOGUE_MAIL_FROM doit contenir une adresse courriel (reçu : {mail_from!r})."
        )
    metrics_token = env.get("CATALOGUE_METRICS_TOKEN") or None
    if metrics_token is not None and len(metrics_token) < 32:
        raise ConfigError("CATALOGUE_METRICS_TOKEN doit compter au moins 32 caractères.")
    metrics, metrics_listen = _metrics(env)
    try:
        sla = load_sla_settings(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        smtp_host=smtp.host if smtp else None,
        smtp_port=smtp.port if smtp else None,
        propagation_delay=_int(env, "CATALOGUE_PROPAGATION_DELAY", 86400, 0, 86400),
        secret_key=secret_key,
        mail_from=mail_from,
        base_url=env.get("CATALOGUE_BASE_URL") or "http://127.0.0.1:5000",
        embedded=embedded,
        instance_path=str(instance),
        session_idle_seconds=_int(env, "CATALOGUE_SESSION_IDLE", 30 * 60, 60, 86400),
        session_absolute_seconds=_int(env, "CATALOGUE_SESSION_ABSOLUTE", 12 * 3600, 60, 7 * 86400),
        claim_lapse_seconds=_int(env, "CATALOGUE_CLAIM_LAPSE", 3600, 1, 7 * 86400),
        outbox_lease_seconds=_int(env, "CATALOGUE_OUTBOX_LEASE", 120, 1, 3600),
        metrics_token=metrics_token,
        metrics=metrics,
        metrics_listen=metrics_listen,
        sla=sla,
        smtp=smtp,
        log_level=_choice(env, "CATALOGUE_LOG_LEVEL", "INFO", LOG_LEVELS),
        worker_queue=_choice(env, "CATALOGUE_QUEUE", "pipeline", WORKER_QUEUES),
        sweep_interval=_float(env, "CATALOGUE_SWEEP_INTERVAL", 10.0, 0.0, 3600.0),
        job_timeout=_int(env, "CATALOGUE_JOB_TIMEOUT", 0, 0, 86400),
        ratelimits=_ratelimits(source.get("CATALOGUE_RATELIMITS")),
        trusted_proxies=_int(env, "CATALOGUE_TRUSTED_PROXIES", 0, 0, 5),
        retention_days=_int(env, "CATALOGUE_RETENTION_DAYS", 30, 1, 3650),
        documents_dir=env.get("CATALOGUE_DOCUMENTS_DIR") or None,
    )
