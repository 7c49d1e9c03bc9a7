"""Headless screenshots of the portal with the demo data (a script, not a test).

Starts the service in a temporary folder (embedded mode: ``flask migrate``, ``flask load-demo``,
``flask run`` on a free loopback port), walks the guide's first connection over HTTP (the
responsable creates her account, validates the emailed code read from ``/dev/mail``, logs in and
links her profile with the *coordonnées de liaison* of her *courriel explicatif*; the demo agent
logs in too), then, when ``/usr/bin/chromium`` exists, takes screenshots:

- the login page with chromium's own ``--screenshot`` (no session needed);
- the screens behind the login (Accueil, the three lists of *Relations et autorisations*, the
  catalogue, a form, *Mes demandes*, the agent's *File de validation*) through the DevTools
  protocol over ``--remote-debugging-pipe``: the session cookie is set, each page is opened and
  captured once its content is drawn.

Without chromium it says so and stops after the HTTP walk (which still checks that every list
answers). Chromium is never installed by this script::

    .venv/bin/python -m bench.portal_screenshots                  # PNGs in ./portal-screenshots
    .venv/bin/python -m bench.portal_screenshots --out /tmp/shots --keep-running
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.common import stop_processes

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
PASSWORD = "Tournesol-Vert-2026!"
COOKIE = "catalogue_session"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1280, 900


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------- the service


@contextlib.contextmanager
def service(folder: Path, port: int) -> Iterator[str]:
    """Migrate, load the demo data and serve in ``folder`` on ``port``; yields the base URL."""
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CATALOGUE_INSTANCE_PATH": str(folder / "instance"),
        "CATALOGUE_BASE_URL": base,
        "FLASK_APP": "catalogue_svc",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "CATALOGUE_SMTP_URL"):
        env.pop(name, None)  # the embedded mode: SQLite, in-process jobs, the /dev/mail box
    log = (folder / "server.log").open("w")
    for command in (["migrate"], ["load-demo"]):
        subprocess.run([FLASK, *command], cwd=folder, env=env, check=True, stdout=log, stderr=log)
    server = subprocess.Popen(
        [FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--with-threads"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"le service n'a pas démarré (voir {folder / 'server.log'})")
            time.sleep(0.2)
        yield base
    finally:
        stop_processes([server])
        log.close()


class Client:
    """An HTTP client with a cookie jar and the CSRF token, as the portal uses the API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if method != "GET":
            if not self.csrf:
                self.refresh()
            headers["X-CSRF-Token"] = self.csrf
        response = self.http.request(
            method, self.base + path, json=body, headers=headers, timeout=30
        )
        return response.status_code, response.json() if response.content else None

    def refresh(self) -> None:
        _, session = self.call("GET", "/api/session")
        self.csrf = session["csrf_token"]

    def expect(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, answer = self.call(method, path, body)
        if got != status:
            raise SystemExit(f"{method} {path} : {got} au lieu de {status} : {answer}")
        return answer

    def mailbox(self) -> str:
        return html.unescape(self.http.get(self.base + "/dev/mail", timeout=30).text)

    def cookie(self) -> str:
        return str(self.http.cookies[COOKIE])


def first_connection(base: str) -> tuple[Client, int]:
    """The guide's first connection of the demo responsable; returns her client and profile."""
    from catalogue_svc.demo import DOSSIERS

    document = json.loads(DOSSIERS.read_text(encoding="utf-8"))
    person = next(c for c in document["contacts"] if c.get("send_linking_credentials"))
    email = person["email"]
    client = Client(base)
    client.expect(
        "POST",
        "/api/accounts",
        {
            "email": email,
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            "first_name": person["first_name"].title(),
            "last_name": person["last_name"].title(),
            "terms_accepted": True,
        },
        status=201,
    )
    mail = client.mailbox()
    code = re.search(r"valider la création.*?\n\s+(\d{6})\s", mail, re.S)
    identifier = re.search(r"Identifiant de liaison : (\S+)", mail)
    link_code = re.search(r"Code de liaison : (\S+)", mail)
    if not (code and identifier and link_code):
        raise SystemExit("courriels de démonstration introuvables dans /dev/mail")
    client.expect("POST", "/api/accounts/verify", {"email": email, "code": code.group(1)})
    client.expect("POST", "/api/session", {"email": email, "password": PASSWORD})
    client.refresh()
    profile = client.expect(
        "POST",
        "/api/links",
        {"identifier": identifier.group(1), "code": link_code.group(1)},
        status=201,
    )
    client.refresh()
    pid = profile["profile_id"]
    for path in ("contacts", "relations", "authorizations", "authorized-dossiers", "requests"):
        client.expect("GET", f"/api/profiles/{pid}/{path}")
    return client, pid


def agent_login(base: str) -> Client:
    from catalogue_svc.demo import DEMO_AGENT

    client = Client(base)
    client.expect(
        "POST", "/api/session", {"email": DEMO_AGENT["email"], "password": DEMO_AGENT["password"]}
    )
    client.expect("GET", "/api/agent/queue")
    return client


# ------------------------------------------------------------------------------- chromium


def plain_screenshot(chromium: str, url: str, out: Path) -> None:
    """chromium's own --screenshot (a page that needs no session)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--virtual-time-budget=5000",
                url,
            ],
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class DevTools:
    """The DevTools protocol over --remote-debugging-pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, chromium: str, profile: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def plumbing() -> None:  # in the child, before exec
            # Out of the way first (the pipe's own fds may be 3 or 4), then onto 3 and 4.
            read_end = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.process = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                f"--window-size={WIDTH},{HEIGHT}",
            ],
            close_fds=False,
            preexec_fn=plumbing,  # a single-threaded script: preexec_fn is safe here
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.session: str | None = None

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium a fermé le canal DevTools")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )

    def wait_for(self, expression: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}
            )
            if result.get("result", {}).get("value"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"délai dépassé en attendant {expression}")

    def capture(self, url: str, ready: str, out: Path) -> None:
        # A blank page first: from one hash to the next, the previous screen's content would
        # already satisfy ``ready``.
        self.send("Page.navigate", {"url": "about:blank"})
        self.wait_for("location.href === 'about:blank'")
        self.send("Page.navigate", {"url": url})
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")
        self.wait_for(ready)
        time.sleep(0.3)  # the last fetches of the screen
        shot = self.send("Page.captureScreenshot", {"format": "png"})
        out.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", browser=True)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


# Screens behind the login: (file, hash, JavaScript that is true once the screen is drawn).
SCREENS = [
    ("02-accueil.png", "#/profil/{pid}", "!!document.querySelector('.cards')"),
    ("03-contacts.png", "#/profil/{pid}/relations/contacts", "!!document.querySelector('.pager')"),
    (
        "04-relations.png",
        "#/profil/{pid}/relations/relations",
        "!!document.querySelector('.pager')",
    ),
    (
        "05-autorisations.png",
        "#/profil/{pid}/relations/autorisations",
        "!!document.querySelector('.pager')",
    ),
    ("06-catalogue.png", "#/profil/{pid}/catalogue", "!!document.querySelector('.cards')"),
    (
        "07-formulaire.png",
        "#/profil/{pid}/catalogue/add-relation?contact_does_not_exist=true",
        "!!document.querySelector('form .required-note')",
    ),
    ("08-mes-demandes.png", "#/profil/{pid}/demandes", "!!document.querySelector('.pager')"),
    ("09-dossiers.png", "#/profil/{pid}/dossiers", "!!document.querySelector('.alert--warning')"),
]
AGENT_SCREENS = [("10-file-agent.png", "#/agent", "!!document.querySelector('.pager')")]


def screenshots(
    chromium: str, base: str, responsable: Client, pid: int, agent: Client, out: Path
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plain_screenshot(chromium, f"{base}/#/connexion", out / "01-connexion.png")
    print(f"  {out / '01-connexion.png'}")
    for client, screens in ((responsable, SCREENS), (agent, AGENT_SCREENS)):
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
            tools = DevTools(chromium, profile)
            try:
                tools.open_page()
                tools.send(
                    "Network.setCookie",
                    {"name": COOKIE, "value": client.cookie(), "url": base, "httpOnly": True},
                )
                for name, hash_, ready in screens:
                    tools.capture(f"{base}/{hash_.format(pid=pid)}", ready, out / name)
                    print(f"  {out / name}")
            finally:
                tools.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("portal-screenshots"))
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument(
        "--keep-running", action="store_true", help="serve until Ctrl-C after the screenshots"
    )
    args = parser.parse_args(argv)
    # A plain `kill` stops the demo service too (SIGTERM unwinds through the context managers).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    folder = Path(tempfile.mkdtemp(prefix="portal-demo-"))
    port = free_port()
    try:
        with service(folder, port) as base:
            responsable, pid = first_connection(base)
            agent = agent_login(base)
            print(f"Service de démonstration : {base} (profil {pid}; dossier {folder})", flush=True)
            if not (os.path.isfile(args.chromium) and os.access(args.chromium, os.X_OK)):
                print(f"{args.chromium} introuvable : aucune capture (le parcours HTTP a réussi).")
            else:
                print(f"Captures dans {args.out} :")
                screenshots(args.chromium, base, responsable, pid, agent, args.out)
            if args.keep_running:
                print("Ctrl-C pour arrêter.", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(3600)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
