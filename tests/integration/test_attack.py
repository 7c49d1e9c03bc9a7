"""S3: a scripted attack on linking codes against two web processes sharing Redis.

Wrong guesses (2,000 in `make test`, 10,000 in `make test-faults`) over loopback from several attacker accounts, against one real credential,
through gunicorn with two workers: 0 successes, the per-code cap holds (≤ 5 tries ever checked),
and the limits answer 429 with Retry-After.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from catalogue_svc.accounts import sessions
from catalogue_svc.db import db
from catalogue_svc.linking.models import LinkingCredential
from catalogue_svc.linking.service import issue
from tests.accounts_helpers import create_account
from tests.factories import guide_firm
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
# 1,000 in make test (250 an attacker, fifty times the 5 checks a code allows), 10,000 in make
# test-faults.
GUESSES = int(os.environ.get("CATALOGUE_S3_GUESSES", "1000"))
ATTACKERS = 4


def start_gunicorn(app, redis_url: str) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with two worker processes on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "CATALOGUE_SECRET_KEY": app.config["SECRET_KEY"],
        "CATALOGUE_INSTANCE_PATH": app.instance_path,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "catalogue_svc:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("gunicorn did not start")


def attacker_session(app, n: int) -> tuple[str, str]:
    """A logged-in attacker account: (cookie token, CSRF token)."""
    account = create_account(app, email=f"attaquant{n}@exemple.test")
    with app.test_request_context("/api/session", method="POST"):
        token, row = sessions.open_session(account)
        db.session.commit()
    return token, row.csrf_token


def guess(port: int, cookie: str, csrf: str, identifier: str, count: int) -> dict[int, int]:
    """``count`` wrong codes on one keep-alive connection; status → how many."""
    seen: dict[int, int] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
        "Cookie": f"catalogue_session={cookie}",
    }
    for _ in range(count):
        body = json.dumps({"identifier": identifier, "code": secrets.token_hex(5).upper()})
        try:
            conn.request("POST", "/api/links", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 429:
                assert response.getheader("Retry-After")
            seen[response.status] = seen.get(response.status, 0) + 1
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            seen[0] = seen.get(0, 0) + 1
    conn.close()
    return seen


def test_scripted_guesses_on_two_web_processes_never_succeed(make_app, redis_server):
    """No success, the code checked at most 5 times, and 429s from the shared limits."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="manual")
    with app.app_context():
        firm = guide_firm(app)
        credential, _code = issue(contact_id=firm.marie_helene, organisation_id=firm.firm)
        db.session.commit()
        identifier = credential.identifier
        attackers = [attacker_session(app, n) for n in range(ATTACKERS)]
    process, port = start_gunicorn(app, redis_server.url)
    try:
        per = GUESSES // ATTACKERS
        with ThreadPoolExecutor(ATTACKERS) as pool:
            results = list(pool.map(lambda a: guess(port, a[0], a[1], identifier, per), attackers))
    finally:
        process.terminate()
        process.wait(timeout=10)
    totals: dict[int, int] = {}
    for result in results:
        for status, count in result.items():
            totals[status] = totals.get(status, 0) + count
    assert sum(totals.values()) == per * ATTACKERS
    assert totals.get(201, 0) == 0 and totals.get(200, 0) == 0
    assert totals.get(429, 0) > 0.9 * per * ATTACKERS, totals
    with app.app_context():
        stored = db.session.scalar(
            select(LinkingCredential).where(LinkingCredential.identifier == identifier)
        )
        assert stored.failed_attempts <= 5
        assert stored.state in ("active", "locked") and stored.used_at is None
