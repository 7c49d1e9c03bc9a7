"""Every setting in one place: read only by config.py, listed in the README, refused in French."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from catalogue_svc import config
from catalogue_svc.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
# The service's own code: the tests and benchmarks read their own knobs, never the service's.
SERVICE = [
    *sorted((ROOT / "catalogue_svc").rglob("*.py")),
    *sorted((ROOT / "forms").rglob("*.py")),
    *sorted((ROOT / "workflows").rglob("*.py")),
    ROOT / "worker.py",
    *([ROOT / "gunicorn.conf.py"] if (ROOT / "gunicorn.conf.py").exists() else []),
]
READERS = ("environ", "getenv", "environb")
VARIABLE = re.compile(r"^(CATALOGUE_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)$")


def _environment_reads(path: Path) -> list[str]:
    """``os.environ``, ``os.getenv`` and ``environ`` imported from os, as ``file:line``."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in READERS
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in READERS for a in node.names)
        )
        if attribute or imported:
            found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    return found


def _readme_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return {
        name
        for line in readme.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }


def test_only_config_reads_the_environment():
    """No module of the service but config.py reads os.environ or os.getenv."""
    reads = [
        hit
        for path in SERVICE
        if path != ROOT / "catalogue_svc" / "config.py"
        for hit in _environment_reads(path)
    ]
    assert reads == []


def test_every_variable_config_reads_is_known():
    """Every variable name written in config.py is one of ENV_KEYS (create_app's overrides)."""
    tree = ast.parse((ROOT / "catalogue_svc" / "config.py").read_text())
    names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VARIABLE.match(node.value)
        and node.value != "CATALOGUE_SETTINGS"  # the Flask config key holding them, not a variable
    }
    assert names - config.ENV_KEYS == set()


def test_every_variable_is_in_the_readme_table():
    """Every setting has its row in the README's table of variables."""
    assert sorted(config.ENV_KEYS - _readme_variables()) == []


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CATALOGUE_JOB_TIMEOUT": "abc"}, "CATALOGUE_JOB_TIMEOUT"),
        ({"CATALOGUE_JOB_TIMEOUT": "-5"}, "CATALOGUE_JOB_TIMEOUT"),
        ({"CATALOGUE_SWEEP_INTERVAL": "souvent"}, "CATALOGUE_SWEEP_INTERVAL"),
        ({"CATALOGUE_QUEUE": "emails"}, "CATALOGUE_QUEUE"),
        ({"CATALOGUE_LOG_LEVEL": "loud"}, "CATALOGUE_LOG_LEVEL"),
        ({"CATALOGUE_RATELIMITS": "login-ip=beaucoup"}, "CATALOGUE_RATELIMITS"),
        ({"CATALOGUE_RATELIMITS": "login-ip=0/60"}, "CATALOGUE_RATELIMITS"),
        ({"CATALOGUE_TRUSTED_PROXIES": "9"}, "CATALOGUE_TRUSTED_PROXIES"),
        ({"CATALOGUE_RETENTION_DAYS": "0"}, "CATALOGUE_RETENTION_DAYS"),
        ({"CATALOGUE_SMTP_URL": "smtp://h?tls=1"}, "CATALOGUE_SMTP_URL"),
        ({"CATALOGUE_SMTP_URL": "smtps://h?starttls=1"}, "CATALOGUE_SMTP_URL"),
        ({"CATALOGUE_SMTP_URL": "smtp://u:p@h:25"}, "CATALOGUE_SMTP_URL"),
        ({"CATALOGUE_SMTP_URL": "smtps://h", "CATALOGUE_SMTP_TIMEOUT": "x"}, "SMTP_TIMEOUT"),
        (
            {"CATALOGUE_SMTP_URL": "smtps://h", "CATALOGUE_SMTP_CA_FILE": "/nulle/part.pem"},
            "CA_FILE",
        ),
        ({"CATALOGUE_SMTP_URL": "smtps://h", "CATALOGUE_SMTP_PASSWORD": "p"}, "SMTP_PASSWORD"),
    ],
)
def test_bad_operator_setting_is_refused_by_name(env, variable, tmp_path):
    """A bad worker, log, limit, proxy, retention or SMTP setting is refused, naming it."""
    with pytest.raises(ConfigError, match=variable):
        load_settings({"CATALOGUE_INSTANCE_PATH": str(tmp_path), **env})


def test_smtp_password_is_never_in_the_message(tmp_path):
    """A malformed SMTP URL is refused without echoing the password it holds."""
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"CATALOGUE_INSTANCE_PATH": str(tmp_path), "CATALOGUE_SMTP_URL": "smtp://u:s3cr3t@h:x"}
        )
    assert "s3cr3t" not in str(caught.value)


def test_rate_limits_setting_overrides_limits_by_name(tmp_path):
    """CATALOGUE_RATELIMITS=name=max/seconds,… overrides each named limit."""
    settings = load_settings(
        {
            "CATALOGUE_INSTANCE_PATH": str(tmp_path),
            "CATALOGUE_RATELIMITS": "login-ip=5/60, signup-ip=10/3600",
        }
    )
    assert dict(settings.ratelimits) == {"login-ip": (5, 60), "signup-ip": (10, 3600)}


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "worker.py", "--burst"],
        [sys.executable, "-m", "flask", "--app", "catalogue_svc", "migrate"],
    ],
    ids=["worker", "flask"],
)
def test_bad_setting_stops_the_start_with_a_french_sentence(command, tmp_path):
    """CATALOGUE_JOB_TIMEOUT=abc stops worker.py and flask with a sentence, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not VARIABLE.match(k) or k == "CATALOGUE_TEST_DB"}
    env.update(CATALOGUE_INSTANCE_PATH=str(tmp_path), CATALOGUE_JOB_TIMEOUT="abc")
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "CATALOGUE_JOB_TIMEOUT doit être un nombre entier (reçu : 'abc')." in done.stderr
