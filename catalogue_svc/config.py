"""Settings read from the environment, parsed and checked once in ``create_app``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


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


def _smtp(env: Mapping[str, str]) -> tuple[str | None, int | None]:
    raw = env.get("CATALOGUE_SMTP_URL", "")
    if not raw:
        return None, None
    parts = urlsplit(raw)
    if parts.scheme != "smtp" or not parts.hostname:
        raise ConfigError(
            f"CATALOGUE_SMTP_URL doit avoir la forme smtp://hôte:port (reçu : {raw!r})."
        )
    try:
        port = parts.port or 25
    except ValueError:
        raise ConfigError(f"CATALOGUE_SMTP_URL : port invalide (reçu : {raw!r}).") from None
    return parts.hostname, port


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
    }
)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError naming the first bad variable."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("CATALOGUE_INSTANCE_PATH") or Path.cwd() / "instance")
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'catalogue.sqlite3'}"
    database_url = _check_database_url(database_url)
    redis_url = env.get("REDIS_URL") or None
    if redis_url:
        redis_url = _check_redis_url(redis_url)
    smtp_host, smtp_port = _smtp(env)
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
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
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
    )
