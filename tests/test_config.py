"""Settings: defaults of the embedded mode, and a clear refusal of every bad value."""

from __future__ import annotations

import pytest

from catalogue_svc import create_app
from catalogue_svc.config import ConfigError, load_settings


def test_embedded_defaults(tmp_path):
    """No variable at all: SQLite under instance/, in-process queue, 24 h propagation."""
    settings = load_settings({"CATALOGUE_INSTANCE_PATH": str(tmp_path)})
    assert settings.embedded
    assert settings.database_url == f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    assert settings.redis_url is None and settings.smtp_host is None
    assert settings.propagation_delay == 86400


def test_embedded_secret_key_survives_a_restart(tmp_path):
    """The generated key is kept, so codes issued before a restart still verify."""
    env = {"CATALOGUE_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(env).secret_key == load_settings(env).secret_key


def test_postgres_url_gets_the_psycopg_driver(tmp_path):
    """postgresql:// is used with psycopg 3."""
    settings = load_settings(
        {"DATABASE_URL": "postgresql://u@h/db", "CATALOGUE_SECRET_KEY": "k" * 32}
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"CATALOGUE_SMTP_URL": "mailto:x"}, "CATALOGUE_SMTP_URL"),
        ({"CATALOGUE_SMTP_URL": "smtp://h:notaport"}, "CATALOGUE_SMTP_URL"),
        ({"CATALOGUE_PROPAGATION_DELAY": "abc"}, "CATALOGUE_PROPAGATION_DELAY"),
        ({"CATALOGUE_PROPAGATION_DELAY": "-1"}, "CATALOGUE_PROPAGATION_DELAY"),
        ({"CATALOGUE_PROPAGATION_DELAY": "90000"}, "CATALOGUE_PROPAGATION_DELAY"),
        ({"REDIS_URL": "redis://127.0.0.1:1"}, "CATALOGUE_SECRET_KEY"),
        ({"CATALOGUE_SECRET_KEY": "short"}, "CATALOGUE_SECRET_KEY"),
        ({"CATALOGUE_MAIL_FROM": "nobody"}, "CATALOGUE_MAIL_FROM"),
    ],
)
def test_bad_value_names_the_variable(env, variable, tmp_path):
    """A bad setting stops the start with a message naming the variable."""
    with pytest.raises(ConfigError, match=variable):
        load_settings({"CATALOGUE_INSTANCE_PATH": str(tmp_path), **env})


def test_create_app_refuses_a_bad_setting(tmp_path):
    """create_app checks the settings before anything starts."""
    with pytest.raises(ConfigError, match="CATALOGUE_PROPAGATION_DELAY"):
        create_app({"CATALOGUE_INSTANCE_PATH": str(tmp_path), "CATALOGUE_PROPAGATION_DELAY": "x"})
