"""Fault injection on real processes (R2, R3, R6, R7): a nemesis against the whole pipeline.

Real gunicorn on loopback takes submissions (retried with their ``Idempotency-Key``),
cancellations and agent decisions over HTTP; real `worker.py` processes (SimpleWorker and
``--fork``, on the ``pipeline`` and ``email`` queues) process them through a real redis-server
into a real SMTP server, on the test database (SQLite or PostgreSQL). A nemesis meanwhile, at
random moments of a loop bounded in faults and seconds:

- SIGKILLs a work-horse (``--fork``), a worker parent only (its horse runs on, orphaned), or a
  whole SimpleWorker; SIGSTOPs a worker for a while (sometimes past its lease), then SIGCONTs it;
- restarts Redis empty (the outbox in the database is the truth: the sweepers republish);
- stops the SMTP server for a while (emails are retried, none is dropped);
- on PostgreSQL, terminates the service's database connections (``pg_terminate_backend``); on
  SQLite, holds the database's write lock for a while;
- and one check in eight hangs (a test-only hook, below) until RQ kills it at its timeout.

A supervisor restarts every worker that dies, as a process manager would. Once quiet: no request
lost, none applied twice, every request settled within the sweeper's bound, every email
delivered, with at most one duplicate per crash. The figures are printed (``pytest -s``).

Leases, sweeps and timeouts are shortened (as RQ's own tests do) rather than waited for.
``make test`` runs a short version. Environment variables choose a longer one:
``CATALOGUE_FAULT_REQUESTS`` (requests submitted, 16), ``CATALOGUE_FAULT_SECONDS`` (how long the
nemesis runs, 8), ``CATALOGUE_FAULT_MAX`` (most faults injected, twice the seconds),
``CATALOGUE_FAULT_SEED`` and ``CATALOGUE_FAULT_HANGS`` (how many times each hung check of the R7
test hangs, 1; 20 or more: every time, which exhausts its attempts, about 5 minutes).

``python -m tests.integration.test_faults [worker.py arguments]`` is `worker.py` with the hook:
the duplicate check of a person named ``Suspendu…`` sleeps the first
``CATALOGUE_FAULT_HANGS_PER_REQUEST`` times (counted in files under ``CATALOGUE_FAULT_HANG_DIR``),
and the check of a person named ``Fatal…`` kills its own process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.client
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from catalogue_svc.accounts import sessions
from catalogue_svc.clock import now
from catalogue_svc.db import db
from catalogue_svc.notifications.models import Email
from catalogue_svc.profiles.models import Contact, ProfileChange
from catalogue_svc.queue import OutboxMessage
from catalogue_svc.requests.models import Request, RequestEvent
from catalogue_svc.requests.service import submit
from tests.accounts_helpers import create_account, link_account
from tests.conftest import BACKEND
from tests.factories import guide_firm
from tests.http_helpers import gunicorn
from tests.servers import free_port
from tests.submissions import add_new_member, numbered_person

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = int(os.environ.get("CATALOGUE_FAULT_REQUESTS", "16"))
SECONDS = float(os.environ.get("CATALOGUE_FAULT_SECONDS", "8"))
MAX_FAULTS = int(os.environ.get("CATALOGUE_FAULT_MAX", str(max(8, int(SECONDS * 2)))))
HANGS = int(os.environ.get("CATALOGUE_FAULT_HANGS", "1"))
ALWAYS = 20  # a check that hangs this often exhausts its 8 attempts
SEED = int(os.environ.get("CATALOGUE_FAULT_SEED", "20261128"))

# Shortened production values: RQ kills a job after JOB_TIMEOUT, before its lease expires.
LEASE = 5
SWEEP = 0.5
JOB_TIMEOUT = 3
APP_NAME = "catalogue-fault"  # application_name of the service's PostgreSQL connections
HANG_MARK = "Suspendu"
FATAL_MARK = "Fatal"
SETTLED = frozenset({"applied", "rejected", "cancelled", "failed", "agent_validation"})
# Faults that can interrupt an email between the SMTP server's "250" and "sent" being committed.
CRASHES = frozenset(
    {"horse_kill", "parent_kill", "worker_kill", "parent_stop", "db_kill", "smtp_down"}
)


# ---------------------------------------------------------------- the test-only hooks


def _install_hang_hook() -> None:
    """Make the duplicate check of a ``Suspendu…`` person sleep, the first N times only, and
    the check of a ``Fatal…`` person kill its own process, every time."""
    from catalogue_svc.duplicates import service as duplicates

    folder = Path(os.environ["CATALOGUE_FAULT_HANG_DIR"])
    times = int(os.environ.get("CATALOGUE_FAULT_HANGS_PER_REQUEST", "1"))
    original = duplicates.find_candidates

    def find_candidates(person: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        name = str(person.get("last_name") or "")
        if name.startswith(FATAL_MARK):
            (folder / f"{name}.{time.time()}").touch()
            os.kill(os.getpid(), signal.SIGKILL)  # a poison message: it takes its worker down
        if name.startswith(HANG_MARK):
            for n in range(times):
                try:
                    fd = os.open(folder / f"{name}.{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    continue
                os.write(fd, f"{os.getpid()} {time.time()}".encode())
                os.close(fd)
                time.sleep(3600)  # only RQ's job timeout ends this
        return original(person, *args, **kwargs)

    duplicates.find_candidates = find_candidates  # type: ignore[assignment]


# ---------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    """The live children of ``pid`` (every thread's), from /proc."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


def _alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Slot:
    """One supervised worker process: a queue, forking or not."""

    queue: str
    fork: bool
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.queue}-{'fork' if self.fork else 'simple'}"


class Fleet:
    """Worker processes under a supervisor that restarts any that dies."""

    def __init__(self, env: dict[str, str], logs: Path, slots: list[Slot]) -> None:
        self.env = env
        self.logs = logs
        self.slots = slots
        self.orphans: list[int] = []
        self.unplanned_exits = 0
        self.events: list[str] = []
        self.boot_seconds = 0.0
        self._t0 = time.monotonic()
        self._planned: set[int] = set()

    def start(self, slot: Slot) -> None:
        """Start the slot's process (through this module, so that the hooks are installed)."""
        args = [sys.executable, "-m", "tests.integration.test_faults", slot.queue]
        if slot.fork:
            args.append("--fork")
        with open(self.logs / f"{slot.name}-{id(slot)}.log", "ab") as log:
            slot.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def start_all(self) -> None:
        """Start every slot's process."""
        for slot in self.slots:
            self.start(slot)

    def wait_ready(self, redis_url: str, timeout: float = 120) -> None:
        """Wait until every worker has registered with RQ (they take seconds to start)."""
        from redis import Redis
        from rq import Worker

        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                live = {s.process.pid for s in self.slots if s.process}
                ready = {w.pid for w in Worker.all(connection=connection)} & live
                if len(ready) == len(self.slots):
                    break
                assert time.monotonic() < deadline, "the workers did not start"
                self.supervise()
                time.sleep(0.1)
        finally:
            connection.close()
        self.boot_seconds = time.monotonic() - self._t0

    def supervise(self) -> None:
        """Restart the dead; count the deaths the nemesis did not cause."""
        for slot in self.slots:
            process = slot.process
            assert process is not None
            if process.poll() is not None:
                if process.pid not in self._planned:
                    self.unplanned_exits += 1
                self.start(slot)
                at = time.monotonic() - self._t0
                self.events.append(f"{at:.1f} {slot.name} restarted ({process.returncode})")

    def horse(self, slot: Slot) -> int | None:
        """The work-horse a forking worker runs now, if any."""
        assert slot.process is not None
        horses = [p for p in _children(slot.process.pid) if _alive(p)]
        return horses[0] if horses else None

    def kill(self, slot: Slot) -> None:
        """SIGKILL the worker's own process (a forking worker's horse runs on, orphaned)."""
        assert slot.process is not None
        horse = self.horse(slot) if slot.fork else None
        self._planned.add(slot.process.pid)
        slot.process.send_signal(signal.SIGCONT)  # a stopped worker dies as well
        slot.process.kill()
        slot.process.wait()
        if horse is not None:
            self.orphans.append(horse)

    def close(self) -> None:
        """Kill every process this fleet started, orphaned horses included."""
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.process.send_signal(signal.SIGCONT)
                slot.process.kill()
                slot.process.wait()
        for pid in self.live_orphans():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def live_orphans(self) -> list[int]:
        """Orphaned horses still running (a pid reused since by another program excluded)."""
        live = []
        for pid in self.orphans:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"tests.integration.test_faults" in f.read() and _alive(pid):
                    live.append(pid)
        return live

    def busy_for_too_long(self, redis_url: str, limit: float) -> list[str]:
        """Live workers that RQ shows busy on one job for longer than ``limit`` seconds."""
        from redis import Redis
        from rq import Worker

        live = {s.process.pid for s in self.slots if s.process and s.process.poll() is None}
        connection = Redis.from_url(redis_url)
        stuck = []
        try:
            for worker in Worker.all(connection=connection):
                job = worker.get_current_job()
                if worker.pid not in live or worker.get_state() != "busy" or job is None:
                    continue
                started = job.started_at
                if started is None:
                    continue
                if started.tzinfo is None:
                    started = started.replace(tzinfo=dt.UTC)
                age = time.time() - started.timestamp()
                if age > limit:
                    stuck.append(f"{worker.name} busy {age:.0f}s on {job.id}")
        finally:
            connection.close()
        return stuck


def start_gunicorn(env: dict[str, str], logs: Path) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn on a free loopback port (one process: the driver sends one call at a time)."""
    port = free_port()
    with open(logs / "gunicorn.log", "ab") as log:
        process = subprocess.Popen(
            gunicorn(port, "--workers", "1", "--timeout", "30"),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        status, _ = Http(port).call("GET", "/healthz")
        if status == 200:
            return process, port
        time.sleep(0.2)
    process.kill()
    raise AssertionError("gunicorn did not start")


# ---------------------------------------------------------------- HTTP driver


class Http:
    """One logged-in browser on loopback; every call on a fresh connection."""

    def __init__(self, port: int, token: str = "", csrf: str = "") -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers |= {"X-CSRF-Token": csrf, "Cookie": f"catalogue_session={token}"}

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body); status 0 when the connection failed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers={**self.headers, **(headers or {})},
            )
            response = conn.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, None
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()


def login(app, account) -> tuple[str, str]:
    """A server-side session for ``account``: (cookie token, CSRF token)."""
    with app.test_request_context("/api/session", method="POST"):
        token, row = sessions.open_session(account)
        db.session.commit()
    return token, row.csrf_token


def new_member(i: int, kind: str) -> dict[str, Any]:
    """An add-relation submission for a new person ``i``; an agent must validate the
    ``approve``/``reject`` kinds (the person already has a client number)."""
    last = {"hang": f"{HANG_MARK}{i}", "fatal": f"{FATAL_MARK}{i}"}.get(kind, f"Nomfamille{i}")
    person = numbered_person(i, last_name=last)
    if kind in ("approve", "reject"):
        person["client_number"] = f"7{i:06d}"
    return add_new_member(person)


KINDS = ("plain", "approve", "plain", "cancel", "plain", "reject", "hang", "plain")


@dataclass
class Submission:
    """One request as the driver saw it."""

    i: int
    kind: str
    number: str | None = None
    tries: int = 0
    cancel: int | None = None  # last answer to the cancellation
    decided: bool = False


@dataclass
class Driver:
    """Submits over HTTP (retrying with the same Idempotency-Key until 202), cancels, decides."""

    port: int
    profile_id: int
    submitter: tuple[str, str]
    agent: tuple[str, str]
    count: int
    spread: float
    rng: random.Random
    submissions: list[Submission] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def _retry(self, call: Callable[[], tuple[int, Any]], ok: set[int]) -> tuple[int, Any]:
        deadline = time.monotonic() + 60
        while True:
            status, body = call()
            self.answers[status] += 1
            if status in ok or time.monotonic() > deadline:
                return status, body
            if 400 <= status < 500 and status not in (409, 429):
                self.errors.append(f"{status} {body}")
                return status, body
            time.sleep(0.2)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # pragma: no cover - reported by the test
            self.errors.append(repr(exc))
        finally:
            self.done.set()

    def _run(self) -> None:
        user = Http(self.port, *self.submitter)
        agent = Http(self.port, *self.agent)
        for i in range(self.count):
            kind = KINDS[i % len(KINDS)]
            sub = Submission(i, kind)
            self.submissions.append(sub)

            def post(sub: Submission = sub) -> tuple[int, Any]:
                sub.tries += 1
                return user.call(
                    "POST",
                    f"/api/profiles/{self.profile_id}/requests",
                    {"item": "add-relation", "variables": new_member(sub.i, sub.kind)},
                    {"Idempotency-Key": f"fault-{sub.i}"},
                )

            status, body = self._retry(post, {202})
            if status == 202:
                sub.number = body["number"]
            else:
                self.errors.append(f"submission {i} answered {status}")
            if kind == "cancel" and sub.number:
                cancel = functools.partial(user.call, "POST", f"/api/requests/{sub.number}/cancel")
                sub.cancel, _ = self._retry(cancel, {200, 409})
            self._decide(agent)
            time.sleep(self.rng.uniform(0, 2 * self.spread / max(1, self.count)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self._decide(agent):
            time.sleep(0.3)

    def _decide(self, agent: Http) -> bool:
        """One pass of the agent over the requests waiting for it; True when none is left."""
        left = False
        for sub in self.submissions:
            if sub.kind not in ("approve", "reject") or sub.decided or not sub.number:
                continue
            status, body = agent.call("GET", f"/api/requests/{sub.number}")
            if status != 200:
                left = True
                continue
            if body["state"] != "agent_validation":
                sub.decided = body["state"] not in ("submitted", "duplicate_check")
                left = left or not sub.decided
                continue
            left = True
            status, _ = agent.call("POST", f"/api/agent/requests/{sub.number}/claim")
            self.answers[status] += 1
            if status != 200:
                continue
            if sub.kind == "approve":
                status, _ = agent.call("POST", f"/api/agent/requests/{sub.number}/approve", {})
            else:
                status, _ = agent.call(
                    "POST",
                    f"/api/agent/requests/{sub.number}/reject",
                    {"reason": "Ce membre a déjà un numéro de client."},
                )
            self.answers[status] += 1
        return not left


# ---------------------------------------------------------------- nemesis


@dataclass
class Nemesis:
    """Injects one fault at a time at random moments, and undoes the lasting ones later."""

    fleet: Fleet
    redis: Any
    smtp: Any
    app: Any
    rng: random.Random
    injected: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    timeline: list[str] = field(default_factory=list)
    _undo: list[tuple[float, str, Callable[[], None]]] = field(default_factory=list)
    _down: set[str] = field(default_factory=set)
    _start: float = field(default_factory=time.monotonic)

    @property
    def kinds(self) -> list[str]:
        """Every kind of fault this backend allows (the first two need a horse at work)."""
        db_fault = "db_kill" if BACKEND == "postgresql" else "db_lock"
        return [
            "horse_kill",
            "parent_kill",
            "worker_kill",
            "parent_stop",
            "redis_restart",
            "smtp_down",
            db_fault,
        ]

    def tick(self) -> None:
        """Undo the faults whose time is up; restart dead workers."""
        now = time.monotonic()
        for item in [u for u in self._undo if u[0] <= now]:
            self._undo.remove(item)
            t = time.monotonic()
            item[2]()
            self.timeline.append(
                f"{t - self._start:.1f} undo {item[1][:4]} {time.monotonic() - t:.1f}s"
            )
            self._down.discard(item[1])
        self.fleet.supervise()

    def heal(self) -> None:
        """Undo every lasting fault now."""
        for item in sorted(self._undo, key=lambda u: u[0]):
            item[2]()
        self._undo.clear()
        self._down.clear()
        self.fleet.supervise()

    def _later(self, seconds: float, resource: str, undo: Callable[[], None]) -> None:
        self._down.add(resource)
        self._undo.append((time.monotonic() + seconds, resource, undo))

    def inject(self, kind: str, *, quiet: bool = False) -> bool:
        """Inject ``kind`` now; False when it cannot be (no horse at work, resource down)."""
        done = bool(getattr(self, f"_{kind}")())
        if done or not quiet:
            at = time.monotonic() - self._start
            self.timeline.append(f"{at:.1f} {kind}{'' if done else ' (armed)'}")
        if done:
            self.injected[kind] += 1
        return done

    def _slots(self, *, fork: bool | None = None) -> list[Slot]:
        return [
            s
            for s in self.fleet.slots
            if (fork is None or s.fork == fork) and f"slot{id(s)}" not in self._down
        ]

    def _horse_kill(self) -> bool:
        for slot in self._slots(fork=True):
            horse = self.fleet.horse(slot)
            if horse is not None:
                with contextlib.suppress(OSError):
                    os.kill(horse, signal.SIGKILL)
                    return True
        return False

    def _parent_kill(self) -> bool:
        slots = self._slots(fork=True)
        if not slots:
            return False
        # A parent whose horse is at work (always the first time): the horse is orphaned and
        # runs on alone.
        busy = [s for s in slots if self.fleet.horse(s) is not None]
        if not busy and not self.fleet.orphans:
            return False
        self.fleet.kill(self.rng.choice(busy or slots))
        return True

    def _worker_kill(self) -> bool:
        slots = self._slots(fork=False)
        if not slots:
            return False
        self.fleet.kill(self.rng.choice(slots))
        return True

    def _parent_stop(self) -> bool:
        slots = self._slots()
        if not slots:
            return False
        slot = self.rng.choice(slots)
        process = slot.process
        assert process is not None
        process.send_signal(signal.SIGSTOP)

        def resume() -> None:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)

        # Sometimes longer than the lease: its messages go to another worker meanwhile.
        self._later(self.rng.uniform(0.5, LEASE + 2), f"slot{id(slot)}", resume)
        return True

    def _redis_restart(self) -> bool:
        if "redis" in self._down:
            return False
        self.redis.crash()
        self._later(self.rng.uniform(0, 1.5), "redis", self.redis.start_empty)
        return True

    def _smtp_down(self) -> bool:
        if "smtp" in self._down:
            return False
        self.smtp.stop()
        self._later(self.rng.uniform(1, 4), "smtp", self.smtp.start)
        return True

    def _db_kill(self) -> bool:
        with self.app.app_context():
            killed = db.session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": APP_NAME},
            )
            db.session.commit()
        return bool(killed)

    def _db_lock(self) -> bool:
        if "db" in self._down:
            return False
        path = self.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        conn = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # every writer waits (busy_timeout) until rollback
        except sqlite3.OperationalError:
            # Another writer holds the lock (a worker stopped in its transaction by parent_stop):
            # not now; the fault stays armed and is tried again.
            conn.close()
            return False

        def release() -> None:
            conn.execute("ROLLBACK")
            conn.close()

        self._later(self.rng.uniform(0.5, 3), "db", release)
        return True

    def run(self, seconds: float, max_faults: int) -> None:
        """Inject faults at random moments: every kind once (the kills of a horse and of a busy
        parent first, while every worker is up; the others in random order), then at random.

        A fault that cannot be injected right now (no horse at work, Redis already down) stays
        armed and is tried again every few milliseconds until it can. The first round of every
        kind may run past ``seconds`` (up to 30 s more): a fast pipeline leaves few moments with
        a busy worker to kill, and a short run must still see every kind."""
        plan = self.kinds[2:]
        self.rng.shuffle(plan)
        plan[:0] = ["horse_kill", "parent_kill"]
        deadline = time.monotonic() + seconds
        last_chance = deadline + 30

        def going_on() -> bool:
            now = time.monotonic()
            if plan or armed:  # the first round of every kind
                return now < last_chance
            return count < max_faults and now < deadline

        count = 0
        armed: str | None = None
        while going_on():
            pause = time.monotonic() + self.rng.uniform(0.2, 1.0)
            while time.monotonic() < pause or (armed and going_on()):
                self.tick()
                if armed and self.inject(armed, quiet=True):
                    armed = None
                    count += 1
                time.sleep(0.003 if armed else 0.05)
            if armed:
                self.missed[armed] += 1
                armed = None
            kind = plan.pop(0) if plan else self.rng.choice(self.kinds)
            if self.inject(kind):
                count += 1
            else:
                armed = kind
        self.heal()


# ---------------------------------------------------------------- invariants


def wait_for(predicate: Callable[[], bool], timeout: float, tick: Callable[[], None]) -> float:
    """Seconds until ``predicate`` held (the test's session reset each time); inf if never."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        db.session.rollback()
        if predicate():
            return time.monotonic() - start
        tick()
        time.sleep(0.2)
    return float("inf")


def _owed_now() -> Any:
    """Undone outbox messages the workers owe now: a supervisors' reminder scheduled for later
    (``sla.escalate`` at 75 % of a request's target, hours away) is not work left behind."""
    from catalogue_svc.sla import escalation

    return (OutboxMessage.done_at.is_(None)) & ~(
        (OutboxMessage.topic == escalation.TOPIC) & (OutboxMessage.available_at > now())
    )


def quiet() -> bool:
    """Every request settled and no background work left."""
    unsettled = db.session.scalar(
        select(func.count()).select_from(Request).where(Request.state.not_in(SETTLED))
    )
    undone = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(_owed_now()))
    return unsettled == 0 and undone == 0


def pipeline_settled() -> bool:
    """Every request settled and no pipeline work left (emails aside)."""
    unsettled = db.session.scalar(
        select(func.count()).select_from(Request).where(Request.state.not_in(SETTLED))
    )
    undone = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.done_at.is_(None), OutboxMessage.topic.like("request.%"))
    )
    return unsettled == 0 and undone == 0


def settle_bound(steps: int, boot: float) -> float:
    """How long the sweeper may take to finish everything once faults stop.

    The latest moment an undone message becomes claimable again (its back-off or its lease), a
    worker's start (``boot``: as long as the workers took to start on this machine now), then
    per step left (check, apply, email) one sweep and one job timeout, and half a second per
    unsettled request to process the backlog."""
    at = now()
    due = db.session.execute(
        select(OutboxMessage.available_at, OutboxMessage.lease_until).where(_owed_now())
    ).all()
    backlog = db.session.scalar(
        select(func.count()).select_from(Request).where(Request.state.not_in(SETTLED))
    )
    db.session.rollback()
    wait = max([(m - at).total_seconds() for row in due for m in row if m is not None], default=0.0)
    return max(0.0, wait) + boot + steps * (SWEEP + JOB_TIMEOUT) + 0.5 * (backlog or 0)


@dataclass
class Figures:
    """What the run shows, printed for the record."""

    backend: str
    seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    states: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    applied_twice: int = 0
    duplicate_effects: int = 0
    emails: int = 0
    emails_missing: int = 0
    duplicate_emails: int = 0
    crashes: int = 0
    settle_seconds: float = 0.0
    settle_bound: float = 0.0
    worst_latency: float = 0.0
    median_latency: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def show(self, title: str) -> None:
        print(f"\n[{title}] " + json.dumps(self.__dict__, ensure_ascii=False, default=str))


def email_figures(mailbox) -> tuple[int, int, int]:
    """(emails recorded, recorded but never received or failed, duplicates received)."""
    received = mailbox.message_ids()
    rows = db.session.execute(select(Email.message_id, Email.sent_at, Email.failed)).all()
    missing = sum(
        1 for mid, sent_at, failed in rows if failed or sent_at is None or mid not in received
    )
    known = {mid for mid, _, _ in rows}
    assert set(received) <= known, "the SMTP server got an email the service never recorded"
    return len(rows), missing, sum(n - 1 for n in received.values())


def effect_figures() -> tuple[int, int]:
    """(requests applied more than once, operations that took effect more than once)."""
    applied_twice = db.session.scalar(
        select(func.count()).select_from(
            select(RequestEvent.request_id)
            .where(RequestEvent.trigger == "apply")
            .group_by(RequestEvent.request_id)
            .having(func.count() > 1)
            .subquery()
        )
    )
    twice = db.session.scalar(
        select(func.count()).select_from(
            select(ProfileChange.request_id)
            .where(ProfileChange.request_id.is_not(None))
            .group_by(ProfileChange.request_id, ProfileChange.op_index)
            .having(func.count() > 1)
            .subquery()
        )
    )
    return applied_twice or 0, twice or 0


def outcome_problems(
    submissions: list[Submission], requests: dict[str, Request]
) -> dict[str, dict[str, Any]]:
    """Per request, where its outcome differs from what the driver asked for: its final state,
    its effect on the profile store (one new contact if applied, none otherwise) and its emails
    (two if applied: the member's linking code and the submitter's notice; one if rejected)."""
    contacts = Counter(
        db.session.scalars(
            select(Contact.last_name).where(
                Contact.last_name.like("Nomfamille%") | Contact.last_name.like(f"{HANG_MARK}%")
            )
        )
    )
    emails = Counter(
        db.session.scalars(select(Email.request_id).where(Email.request_id.is_not(None)))
    )
    problems: dict[str, dict[str, Any]] = {"states": {}, "contacts": {}, "emails": {}}
    for sub in submissions:
        number = sub.number or ""
        request = requests.get(number)
        if request is None:
            continue  # counted as lost
        want = {"reject": {"rejected"}, "cancel": {"cancelled", "applied"}}.get(
            sub.kind, {"applied"}
        )
        if sub.kind == "cancel" and sub.cancel == 200:
            want = {"cancelled"}
        if request.state not in want:
            problems["states"][number] = (request.state, sorted(want), request.reason)
        name = request.variables["new_contact"]["last_name"]
        if contacts.get(name, 0) != (1 if request.state == "applied" else 0):
            problems["contacts"][name] = (contacts.get(name, 0), request.state)
        if emails.get(request.id, 0) != {"applied": 2, "rejected": 1}.get(request.state, 0):
            problems["emails"][number] = (emails.get(request.id, 0), request.state)
    return problems


def latencies() -> list[float]:
    """Seconds from submission to the settled state, per request."""
    rows = db.session.execute(select(Request.created_at, Request.state_changed_at)).all()
    return [(b - a).total_seconds() for a, b in rows]


# ---------------------------------------------------------------- fixtures


@dataclass
class Rig:
    """The firm, its responsable and an agent; the processes a test starts, stopped after it."""

    app: Any
    redis: Any
    smtp: Any
    firm: Any
    submitter: Any
    agent: Any
    hangs_dir: Path
    logs: Path
    fleets: list[Fleet] = field(default_factory=list)
    webs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(
        self,
        *,
        hangs: int = 1,
        lease: int = LEASE,
        job_timeout: int = JOB_TIMEOUT,
        smtp: bool = True,
    ) -> dict[str, str]:
        """The environment of the service's processes, sharing the test's database."""
        url = self.app.config["SQLALCHEMY_DATABASE_URI"]
        if url.startswith("postgresql"):  # the nemesis cuts these connections, not the test's
            url += ("&" if "?" in url else "?") + f"application_name={APP_NAME}"
        return {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": self.redis.url,
            "CATALOGUE_SMTP_URL": self.smtp.url if smtp else f"smtp://127.0.0.1:{free_port()}",
            "CATALOGUE_SECRET_KEY": self.app.config["SECRET_KEY"],
            "CATALOGUE_INSTANCE_PATH": self.app.instance_path,
            "CATALOGUE_SWEEP_INTERVAL": str(SWEEP),
            "CATALOGUE_OUTBOX_LEASE": str(lease),
            "CATALOGUE_JOB_TIMEOUT": str(job_timeout),
            "CATALOGUE_FAULT_HANG_DIR": str(self.hangs_dir),
            "CATALOGUE_FAULT_HANGS_PER_REQUEST": str(hangs),
        }

    def fleet(self, env: dict[str, str], *slots: Slot) -> Fleet:
        """Start worker processes and wait until RQ knows them all."""
        fleet = Fleet(env, self.logs, list(slots))
        self.fleets.append(fleet)
        fleet.start_all()
        fleet.wait_ready(self.redis.url)
        return fleet

    def web(self, env: dict[str, str]) -> int:
        """Start gunicorn; its port."""
        process, port = start_gunicorn(env, self.logs)
        self.webs.append(process)
        return port

    def submit(self, i: int, kind: str) -> None:
        """A submission by the responsable, in the test's process (no gunicorn needed)."""
        with self.app.app_context():
            answer = submit(
                account_id=self.submitter.id,
                account_name="REBECCA",
                profile_id=self.firm.firm,
                item="add-relation",
                variables=new_member(i, kind),
            )
        assert answer["state"] == "submitted"

    def hangs(self) -> Counter[str]:
        """How many times the check of each marked person hung (or killed its process)."""
        return Counter(p.name.split(".")[0] for p in self.hangs_dir.iterdir())

    def tails(self, lines: int = 12) -> str:
        """The last warnings and errors of every process, for a failure message."""
        out = []
        for path in sorted(self.logs.iterdir()):
            content = [
                line[:300]
                for line in path.read_text(errors="replace").splitlines()
                if '"level": "INFO"' not in line
            ]
            out.append(f"--- {path.name}\n" + "\n".join(content[-lines:]))
        return "\n".join(out)

    def close(self) -> None:
        """Stop what the test started; leave Redis and the SMTP sink up for the next test."""
        for fleet in self.fleets:
            fleet.close()
        for web in self.webs:
            web.kill()
            web.wait()
        if self.redis.proc.poll() is not None:  # the shared servers as the next test wants them
            self.redis.start_empty()
        self.smtp.delay = 0.0
        self.smtp.start()


@pytest.fixture()
def rig(make_app, redis_server, mailbox, tmp_path) -> Iterator[Rig]:
    """A :class:`Rig` on the test database, the shared Redis and the emptied SMTP sink."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    firm = guide_firm(app)
    submitter = create_account(app, email="rebecca.fautes@laforce.example")
    link_account(app, submitter.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    agent = create_account(app, role="agent", first_name="Alex", last_name="Agent")
    (tmp_path / "hangs").mkdir()
    (tmp_path / "logs").mkdir()
    made = Rig(
        app,
        redis_server,
        mailbox,
        firm,
        submitter,
        agent,
        tmp_path / "hangs",
        tmp_path / "logs",
    )
    try:
        yield made
    finally:
        made.close()


# ---------------------------------------------------------------- tests


@pytest.mark.timeout(300 + 4 * SECONDS + 3 * REQUESTS)
def test_nemesis_loses_nothing_applies_nothing_twice_and_settles_in_bound(rig):
    """Kills, stops, Redis and SMTP outages, cut DB connections, hung checks: all settle once."""
    app = rig.app
    started = time.monotonic()
    env = rig.env()
    port = rig.web(env)
    fleet = rig.fleet(
        env,
        Slot("pipeline", fork=True),
        Slot("pipeline", fork=False),
        Slot("email", fork=True),
        Slot("email", fork=False),
    )
    driver = Driver(
        port=port,
        profile_id=rig.firm.firm,
        submitter=login(app, rig.submitter),
        agent=login(app, rig.agent),
        count=REQUESTS,
        spread=SECONDS,
        rng=random.Random(SEED + 1),
    )
    nemesis = Nemesis(fleet, rig.redis, rig.smtp, app, random.Random(SEED))
    thread = threading.Thread(target=driver.run, name="driver", daemon=True)
    with app.app_context():
        thread.start()
        nemesis.run(SECONDS, MAX_FAULTS)
        while not driver.done.wait(0.2):
            nemesis.tick()
        nemesis.heal()
        bound = settle_bound(steps=3, boot=fleet.boot_seconds)
        settle = wait_for(quiet, bound, nemesis.tick)

        numbers = {s.number for s in driver.submissions if s.number}
        requests = {r.number: r for r in db.session.scalars(select(Request))}
        spans = latencies()
        orphans_left = fleet.live_orphans()  # each ends on its own: its job done, or killed
        stuck = fleet.busy_for_too_long(rig.redis.url, JOB_TIMEOUT + 5)
        figures = Figures(
            BACKEND,
            seconds=round(time.monotonic() - started, 1),
            faults=dict(nemesis.injected),
            crashes=sum(n for k, n in nemesis.injected.items() if k in CRASHES),
            requests=len(requests),
            lost=len(numbers - set(requests)),
            states=dict(Counter(r.state for r in requests.values())),
            settle_seconds=round(settle, 1),
            settle_bound=round(bound, 1),
            worst_latency=round(max(spans, default=0), 1),
            median_latency=round(statistics.median(spans) if spans else 0, 1),
        )
        figures.applied_twice, figures.duplicate_effects = effect_figures()
        figures.emails, figures.emails_missing, figures.duplicate_emails = email_figures(rig.smtp)
        figures.extra = {
            "http_answers": dict(driver.answers),
            "submission_tries": sum(s.tries for s in driver.submissions),
            "missed_faults": dict(nemesis.missed),
            "unplanned_worker_exits": fleet.unplanned_exits,
            "orphaned_horses": len(fleet.orphans),
            "orphans_still_running": len(orphans_left),
            "hung_checks": sum(rig.hangs().values()),
            "timeouts_recorded": db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.last_error.like("%exceeded maximum timeout%"))
            ),
            "max_attempts": db.session.scalar(select(func.max(OutboxMessage.attempts))),
            "stuck_workers": stuck,
            "timeline": nemesis.timeline,
            "restarts": fleet.events,
        }
        problems = outcome_problems(driver.submissions, requests)
        figures.show("faults")
    thread.join(timeout=5)

    assert not driver.errors, driver.errors
    assert figures.requests == REQUESTS and figures.lost == 0
    assert settle <= bound, f"not settled in {bound:.0f}s: {figures.states}\n{rig.tails()}"
    assert figures.applied_twice == 0 and figures.duplicate_effects == 0
    assert problems == {"states": {}, "contacts": {}, "emails": {}}, problems
    assert figures.emails_missing == 0
    assert figures.duplicate_emails <= figures.crashes
    assert stuck == [], stuck
    assert fleet.orphans and orphans_left == [], orphans_left
    assert set(nemesis.injected) == set(nemesis.kinds), nemesis.missed


@pytest.mark.timeout(900)
def test_hung_checks_are_killed_at_the_timeout_and_their_requests_settle(rig):
    """R7: two checks that hang in the same drain are each killed at the job timeout; both
    requests settle (applied, or sent to an agent once their attempts are exhausted)."""
    kinds = ["hang", "plain", "hang", "plain", "plain"]
    for i, kind in enumerate(kinds):  # before any worker runs: one drain claims them all
        rig.submit(i, kind)
    lease = 3 * JOB_TIMEOUT + 2  # longer than that drain and its two hangs
    fleet = rig.fleet(
        rig.env(hangs=HANGS, lease=lease, smtp=False),
        Slot("pipeline", fork=False),
        Slot("pipeline", fork=True),
    )
    # per attempt: the chunk's run and the message's own run (two hangs, two timeouts), the
    # back-off (2 s, doubling) and a sweep; eight attempts at most
    bound = fleet.boot_seconds + lease
    bound += sum(2 * JOB_TIMEOUT + 2 * 2**k + SWEEP for k in range(min(HANGS, 8)))
    with rig.app.app_context():
        settle = wait_for(pipeline_settled, bound, fleet.supervise)
        requests = db.session.scalars(select(Request).order_by(Request.id)).all()
        checks = {
            m.payload["request_id"]: m
            for m in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "request.check")
            )
        }
    hung = rig.hangs()
    stuck = fleet.busy_for_too_long(rig.redis.url, JOB_TIMEOUT + 5)
    Figures(
        BACKEND,
        settle_seconds=round(settle, 1),
        settle_bound=round(bound, 1),
        states=dict(Counter(r.state for r in requests)),
        extra={
            "hangs": dict(hung),
            "attempts": [checks[r.id].attempts for r in requests],
            "errors": [checks[r.id].last_error for r in requests],
            "stuck_workers": stuck,
        },
    ).show("hung checks")

    assert settle <= bound, rig.tails()
    for request, kind in zip(requests, kinds, strict=True):
        name = request.variables["new_contact"]["last_name"]
        if kind == "plain":
            assert request.state == "applied"
            continue
        # only a kill by the timeout ends a hang, and it hung as often as the hook said
        assert hung[name] == HANGS if HANGS < ALWAYS else hung[name] >= 8
        if HANGS >= ALWAYS:  # the check's attempts are exhausted: an agent must validate
            assert request.state == "agent_validation"
            assert "vérification automatique des doublons a échoué" in (request.reason or "")
        else:
            assert request.state == "applied"
    assert any("exceeded maximum timeout" in (m.last_error or "") for m in checks.values())
    assert stuck == [], stuck


@pytest.mark.timeout(300)
def test_slow_smtp_server_gets_no_duplicate_without_a_crash(rig):
    """R6: with a slow SMTP server and two mailers, no email is sent twice when nothing crashed.

    A drain leases up to 200 emails at once and sends them one by one: once sending takes
    longer than the lease, the other mailer leases the rest of the batch; each send must check
    that its lease is still its own (25 of 40 emails went out twice before it did)."""
    from catalogue_svc.notifications.service import queue_email

    count = 40
    rig.smtp.delay = 0.15  # 40 emails take 6 s to send: twice the lease
    with rig.app.app_context():
        for i in range(count):
            queue_email(
                to=f"membre{i}@laforce.example",
                template="request_rejected",
                language="fr",
                params={"first_name": "M", "number": f"DEM-{i}", "title": "T", "reason": "R"},
            )
        db.session.commit()
    fleet = rig.fleet(
        rig.env(lease=3, job_timeout=60), Slot("email", fork=False), Slot("email", fork=False)
    )
    with rig.app.app_context():
        settle = wait_for(quiet, 60, fleet.supervise)
    received = rig.smtp.message_ids()
    assert settle < 60
    assert len(received) == count
    assert sum(n - 1 for n in received.values()) == 0, "duplicates without any crash"


# ---------------------------------------------------------------- found by the nemesis, fixed


@pytest.mark.timeout(300)
def test_check_that_kills_its_worker_every_time_is_exhausted(rig):
    """R7: a message whose every attempt dies with its work-horse (a poison message) is failed
    visibly once its attempts are exhausted, instead of being retried forever.

    Found by the nemesis: attempts are counted at claim, but exhaustion was only checked when a
    failure was recorded, and a dead horse records nothing: the request stayed ``submitted`` and
    its check ran again every lease, past ``max_attempts`` (15 attempts in 46 s). Now the claim
    after the last allowed attempt fails the message without running it."""
    rig.submit(0, "fatal")
    fleet = rig.fleet(
        rig.env(lease=3, smtp=False), Slot("pipeline", fork=True), Slot("pipeline", fork=True)
    )
    bound = 8 * (3 + SWEEP + 1) + 10  # eight attempts, each lost with its horse: a lease each
    with rig.app.app_context():
        settle = wait_for(pipeline_settled, bound, fleet.supervise)
        request = db.session.scalars(select(Request)).one()
        check = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "request.check")
        ).one()
    assert settle <= bound, (request.state, check.attempts, rig.hangs())
    assert request.state == "agent_validation"
    assert check.attempts <= 9 and check.failed  # 8 ran; the 9th claim gave up


def test_a_failure_in_the_same_drain_costs_no_request_its_emails(make_app, mailbox, monkeypatch):
    """R6: when one message of a drain fails, every other request applied by that drain still
    gets its emails (here: the member's linking code and the submitter's notice).

    Found by the nemesis on SQLite: pysqlite sends no ``BEGIN`` before the first write, so the
    savepoint ``run_apply`` opened before any write *was* the transaction, and releasing it
    committed the apply on its own. The failure of the next message rolls the chunk back, emails included,
    the one-by-one retry finds the request already applied, and its emails are never queued (a
    horse killed between the release and the commit loses them the same way: seen once in 16
    nemesis runs). Fixed by ``db.begin_writing()`` before the savepoint."""
    from catalogue_svc import queue
    from catalogue_svc.requests import handlers, service

    app = make_app()
    firm = guide_firm(app)
    account = create_account(app, email="rebecca.puits@laforce.example")
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    with app.app_context():
        for i in range(2):
            answer = submit(
                account_id=account.id,
                account_name="REBECCA",
                profile_id=firm.firm,
                item="add-relation",
                variables=new_member(i, "plain"),
            )
            assert answer["state"] == "submitted"
        queue.drain(service.CHECK_TOPIC)
        first, second = db.session.scalars(select(Request.id).order_by(Request.id)).all()
        original = handlers.apply_operation

        def apply_operation(operation: Any, index: int, ctx: Any) -> Any:
            if ctx.request_id == second:
                raise RuntimeError("the second request's apply fails")
            return original(operation, index, ctx)

        monkeypatch.setattr(handlers, "apply_operation", apply_operation)
        queue.drain(service.APPLY_TOPIC)
        db.session.rollback()
        assert db.session.get(Request, first).state == "applied"
        emails = db.session.scalar(
            select(func.count()).select_from(Email).where(Email.request_id == first)
        )
    assert emails == 2


if __name__ == "__main__":
    if os.environ.get("CATALOGUE_FAULT_HANG_DIR"):
        _install_hang_hook()
    import worker

    worker.main(sys.argv[1:])
