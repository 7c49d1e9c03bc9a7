"""The portal in a real browser: one real server and one Chromium for the whole session.

The server is the real app (``create_app``) with the demo data (``load_demo``), served by
werkzeug on a free loopback port, sending its emails to the suite's SMTP sink
(``tests/servers.py``). By default it runs in the embedded mode (SQLite, the in-process job
thread); with ``CATALOGUE_TEST_DB=postgresql`` it runs on PostgreSQL and Redis with two real
``worker.py`` processes (pipeline and email), as in production.

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``CATALOGUE_CHROMIUM``) driven by
Playwright for Python; no browser is ever downloaded. Without it the tests skip, and with
``CI=true`` they fail instead.

Every screen a journey reaches is looked at by :meth:`Screens.look`, at a desktop and at a
390 px wide phone viewport: a screenshot of each into ``build/screenshots/<test>/``, the page must
not be wider than the viewport on the phone, and axe-core (the copy shipped inside the
``axe-playwright-python`` wheel, evaluated by the test only, never served by the app) must find no
violation of the WCAG 2.1 A and AA rules. Problems are collected and fail the test at its end, so
one run lists all of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    ROOT,
    SCREENSHOTS,
    WAIT_MS,
    Portal,
    Screens,
    new_page,
)
from tests.conftest import SECRET, _unavailable
from tests.servers import SmtpSink, free_port

BACKEND = os.environ.get("CATALOGUE_TEST_DB", "sqlite")


# ------------------------------------------------------------------------------- the server


def _worker_env(app: Flask, redis_url: str, smtp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "CATALOGUE_SMTP_URL": smtp_url,
        "CATALOGUE_SECRET_KEY": SECRET,
        "CATALOGUE_INSTANCE_PATH": app.instance_path,
        "CATALOGUE_PROPAGATION_DELAY": "0",
        "CATALOGUE_BASE_URL": app.config["CATALOGUE_SETTINGS"].base_url,
    }


BROWSER_IP_LIMITS = (
    "signup-ip",
    "verify-ip",
    "resend-ip",
    "login-ip",
    "link-ip",
    "link-ip-hour",
    "reset-ip",
    "reset-confirm-ip",
    "settings-ip",
)


@pytest.fixture(scope="session")
def portal(
    smtp_server: SmtpSink, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Portal]:
    """The real app with the demo data, served on loopback for the whole session."""
    from werkzeug.serving import make_server

    from catalogue_svc import create_app
    from catalogue_svc.db import db
    from catalogue_svc.demo import load_demo

    folder = tmp_path_factory.mktemp("portail")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config: dict[str, Any] = {
        "CATALOGUE_INSTANCE_PATH": str(folder / "instance"),
        "CATALOGUE_SMTP_URL": smtp_server.url,
        "CATALOGUE_BASE_URL": base,
        "CATALOGUE_PROPAGATION_DELAY": "0",
        "CATALOGUE_SECRET_KEY": SECRET,
        # Every journey's person comes from 127.0.0.1: the per-address limits would count the
        # whole suite as one attacker (they are proven in tests/integration). The per-account,
        # per-email and per-code limits stay as in production.
        "CATALOGUE_RATELIMITS": dict.fromkeys(BROWSER_IP_LIMITS, (10000, 60)),
    }
    workers: list[subprocess.Popen[bytes]] = []
    redis_url = None
    if BACKEND == "postgresql":
        import psycopg

        pg = request.getfixturevalue("pg_server")
        redis_url = request.getfixturevalue("redis_server").url
        with psycopg.connect(
            f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("DROP DATABASE IF EXISTS portail")
            conn.execute("CREATE DATABASE portail")
        config["DATABASE_URL"] = pg.url_for("portail")
        config["REDIS_URL"] = redis_url
    else:
        config["DATABASE_URL"] = f"sqlite:///{folder / 'portail.sqlite3'}"
    app = create_app(config)
    with app.app_context():
        db.create_all()
        db.session.remove()
    log = (folder / "workers.log").open("wb")
    if redis_url:
        env = _worker_env(app, redis_url, smtp_server.url)
        for name in ("pipeline", "email"):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "worker.py", name, "--sweep-interval", "1"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
    with app.app_context():
        load_demo()
        db.session.remove()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="portail", daemon=True)
    thread.start()
    try:
        yield Portal(url=base, app=app, mailbox=smtp_server)
    finally:
        server.shutdown()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.close()
        transport = app.extensions.get("catalogue_transport")
        if transport is not None:
            transport.close()
        with app.app_context():
            db.engine.dispose()


# ------------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright, for the whole session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable("Chromium", FileNotFoundError(f"{CHROMIUM} introuvable"))
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        _unavailable("Playwright", exc)
        raise
    expect.set_options(timeout=WAIT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    except Exception as exc:
        playwright.stop()
        _unavailable("Chromium", exc)
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    """The screenshots folder holds this run's screens only."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture()
def screens(browser: Any, portal: Portal, request: pytest.FixtureRequest) -> Iterator[Screens]:
    """A new browser context at desktop size (``screens.page``), its screens looked at."""
    yield from _screens(browser, portal, request, DESKTOP)


@pytest.fixture()
def phone_screens(
    browser: Any, portal: Portal, request: pytest.FixtureRequest
) -> Iterator[Screens]:
    """A new browser context at phone size (390 px), its screens looked at."""
    yield from _screens(browser, portal, request, PHONE)


def _screens(
    browser: Any, portal: Portal, request: pytest.FixtureRequest, size: dict[str, int]
) -> Iterator[Screens]:
    page = new_page(browser, portal, size)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"erreur JavaScript : {exc}"))
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    seen = Screens(page=page, folder=SCREENSHOTS / name, size=size, portal=portal)
    try:
        yield seen
    finally:
        for other in seen.others:
            other.page.context.close()
        page.context.close()
    problems = errors + seen.problems
    assert not problems, "à l'écran :\n" + "\n".join(dict.fromkeys(problems))
