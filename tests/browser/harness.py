"""What a browser journey is looked at with: the server under test (:class:`Portal`) and the
screens of a journey (:class:`Screens`); the fixtures that make them live in ``conftest.py``."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from flask import Flask

from tests.servers import SmtpSink, body

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
        page = new_page(self.page.context.browser, self.portal, self.size)
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


def new_page(browser: Any, portal: Portal, size: dict[str, int]) -> Any:
    """A page in a new browser context on the server, at ``size``, in French (Canada)."""
    context = browser.new_context(
        viewport=size,
        locale="fr-CA",
        timezone_id="UTC",  # a machine set to UTC: times must still read as in Montréal
        base_url=portal.url,
    )
    context.set_default_timeout(WAIT_MS)
    return context.new_page()
