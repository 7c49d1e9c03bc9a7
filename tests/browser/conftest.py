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

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import SECRET, _unavailable
from tests.servers import SmtpSink, body, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CATALOGUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = (("bureau", DESKTOP), ("telephone", PHONE))
SCREENSHOTS = ROOT / "build" / "screenshots"
WAIT_MS = 30_000  # a shared, slow machine: generous waits (never a sleep)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BACKEND = os.environ.get("CATALOGUE_TEST_DB", "sqlite")


# ------------------------------------------------------------------------------- the server


@dataclass
class Portal:
    """The server under test: its URL, its app (for setting data up) and its SMTP sink."""

    url: str
    app: Flask
    mailbox: SmtpSink

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        """An app context on the server's database, for setting data up before a journey."""
        from catalogue_svc.db import db

        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def mails_to(self, address: str, count: int = 1, timeout: float = 90.0) -> list[Message]:
        """The messages sent to ``address``, once at least ``count`` of them arrived."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.mailbox.to(address)
            if len(messages) >= count or time.monotonic() > deadline:
                assert len(messages) >= count, (
                    f"{count} courriel(s) attendu(s) pour {address}, {len(messages)} reçu(s)"
                )
                return messages
            time.sleep(0.2)

    def mail_text(self, address: str, count: int = 1) -> str:
        """The text of the ``count``-th message sent to ``address``."""
        return body(self.mails_to(address, count)[count - 1])


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


def _axe_source() -> str:
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec and spec.origin, "axe-playwright-python (axe-core) n'est pas installé"
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


# The outermost elements that stick out of the viewport, to say what to fix.
WIDEST = """() => {
    const clipped = (el) => {
        for (let up = el.parentElement; up; up = up.parentElement) {
            if (getComputedStyle(up).overflowX !== "visible"
                && up.getBoundingClientRect().right <= window.innerWidth + 1) return true;
        }
        return false;
    };
    return Array.from(document.querySelectorAll("body *"))
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(el))
        .slice(-5)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(
            el.getBoundingClientRect().right)} px`)
        .join(", ");
}"""


@dataclass
class Screens:
    """Looks at each screen of a journey at both sizes: screenshot, overflow, axe-core."""

    page: Any
    folder: Path
    size: dict[str, int]
    problems: list[str] = field(default_factory=list)
    prefix: str = ""
    axe: str = ""
    portal: Any = None
    counter: list[int] = field(default_factory=lambda: [0])
    others: list[Screens] = field(default_factory=list)

    def another(self, who: str) -> Screens:
        """A second person's browser (a new context), its screens in the same folder."""
        page = _new_page(self.page.context.browser, self.portal, self.size)
        page.on("pageerror", lambda exc: self.problems.append(f"erreur JavaScript : {exc}"))
        other = Screens(
            page=page, folder=self.folder, size=self.size, problems=self.problems, prefix=who
        )
        other.portal = self.portal
        other.counter = self.counter
        self.others.append(other)
        return other

    def look(self, name: str) -> None:
        """Screenshot ``name`` at both sizes; note any overflow at 390 px and axe violation."""
        self.counter[0] += 1
        if self.prefix:
            name = f"{self.prefix}, {name}"
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            for label, size in SIZES:
                self.page.set_viewport_size(size)
                widths = self.page.evaluate(
                    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame("
                    "() => done([document.documentElement.scrollWidth, window.innerWidth]))))"
                )
                if size is PHONE and widths[0] > widths[1]:
                    self.problems.append(
                        f"{name} : la page fait {widths[0]} px de large pour un écran de "
                        f"{widths[1]} px ({self.page.evaluate(WIDEST)})"
                    )
                for violation in self._axe():
                    self.problems.append(f"{name} ({label}) : axe {violation}")
                self.page.screenshot(
                    path=str(self.folder / f"{self.counter[0]:02d}-{slug}-{label}.png"),
                    full_page=True,
                )
        finally:
            self.page.set_viewport_size(self.size)

    def _axe(self) -> list[str]:
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            if not self.axe:
                self.axe = _axe_source()
            self.page.evaluate(self.axe)
        found = self.page.evaluate(
            """async (tags) => {
                const result = await window.axe.run(document, {
                    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
                return result.violations.map((v) =>
                    `${v.id} (${v.help}) : ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" ; ")}`);
            }""",
            WCAG,
        )
        return list(found)


def _new_page(browser: Any, portal: Portal, size: dict[str, int]) -> Any:
    context = browser.new_context(
        viewport=size,
        locale="fr-CA",
        timezone_id="UTC",  # a machine set to UTC: times must still read as in Montréal
        base_url=portal.url,
    )
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


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
    page = _new_page(browser, portal, size)
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


# ------------------------------------------------------------------------------- people

FIRM = "LAFORCE COMPTABLE INC"
FIRM_NUMBER = "4021587"
REBECCA = "rebecca.descoteaux-laforce@laforce-comptable.example"
PASSWORD = "Tournesol-Vert-2026!"
_people = iter(range(1, 10_000))


def firm_responsable(portal: Portal, *, first_name: str = "Rebecca") -> str:
    """A new responsable of the firm (her contact and relation) and her confirmed account,
    linked to the firm's profile, set up in the database as a redeemed courriel explicatif
    would leave them; returns the account's email (password ``PASSWORD``)."""
    import datetime as dt

    from sqlalchemy import select

    from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
    from tests.accounts_helpers import create_account, link_account

    number = next(_people)
    email = f"responsable-{number}@laforce-comptable.example"
    with portal.db() as session:
        firm = session.scalar(select(Organisation).where(Organisation.client_number == FIRM_NUMBER))
        assert firm is not None
        contact = Contact(first_name=first_name, last_name=f"Responsable-{number}", email=email)
        session.add(contact)
        session.flush()
        session.add(
            ContactRelation(
                contact_id=contact.id,
                organisation_id=firm.id,
                type="responsable",
                start_date=dt.date(2024, 1, 1),
            )
        )
        session.commit()
        contact_id, firm_id = contact.id, firm.id
        account = create_account(
            portal.app,
            email=email,
            password=PASSWORD,
            first_name=first_name,
            last_name=f"Responsable-{number}",
        )
        link_account(portal.app, account.id, contact_id=contact_id, organisation_id=firm_id)
    return email


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Se connecter as a person does: the address, the password, « Connexion »."""
    from playwright.sync_api import expect

    page.goto("/#/connexion")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(password)
    page.get_by_role("button", name="Connexion").click()


def open_firm(page: Any) -> None:
    """After logging in: Sélectionnez un profil › the firm › Accueil."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Sélectionnez un profil")).to_be_visible()
    page.get_by_role("link", name=FIRM).click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()


def open_menu_item(page: Any, name: str) -> None:
    """A link of the main menu, opening the menu first where it is collapsed (phone)."""
    nav = page.get_by_role("navigation", name="Menu principal")
    toggle = nav.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    if name == "Relations et autorisations":
        nav.get_by_role("button", name="Mon organisation").click()
    nav.get_by_role("link", name=name).click()
