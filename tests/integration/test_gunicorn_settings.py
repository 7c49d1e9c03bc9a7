"""gunicorn's web role checks every setting before it starts a worker: a bad one stops it with
the French sentence naming the variable, instead of workers restarting forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_process_logs import _env, _free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CATALOGUE_JOB_TIMEOUT", "abc"), ("WEB_CONCURRENCY", "beaucoup"), ("PORT", "99999")],
)
def test_a_bad_setting_stops_gunicorn_naming_it(app, tmp_path, variable, value):
    """The master exits with status 1 and the sentence, no worker restarted in a loop."""
    env = {**_env(app, tmp_path), "PORT": str(_free_port()), variable: value}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "-c", "gunicorn.conf.py", "catalogue_svc:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert variable in result.stderr + result.stdout
    assert "Booting worker" not in result.stderr
