"""*Relations et autorisations* at scale: the three lists through HTTP, and the access check.

Builds one accounting firm with 10,000 contacts (each with an active relation to the firm; one in
ten also has an earlier, ended relation), 500 client employers in a *firme comptable* relation
with the firm, and 200,000 grants (the firm's own on its clients' dossiers, its contacts' own on
the firm's dossier, and the clients' subjects delegated to its contacts), with bulk Core inserts.
About 5 % of relations and grants are ended and 0.5 % still wait for the propagation delay. An
account is linked to the firm's responsable and a session is opened server-side.

The service then runs under gunicorn (2 sync workers) on a free loopback port, and so does a bare
Flask app (this module's :func:`bare_app`: one primary-key read of a contact, plain SQLAlchemy
Core) on the same database. One client (``requests``, one call at a time) interleaves its calls:
after a warm-up, N rounds of the contacts, relations and authorizations lists' first pages, an
authorizations page filtered by contact (a different contact each round), and the bare endpoint.
Lastly ``access.require_profile(account, firm, manage=True)`` is timed in-process (2,000 calls,
each in a fresh transaction) beside one in-process primary-key read. A script that prints
figures, never a timed test::

    .venv/bin/python -m bench.lists --start-postgres
    .venv/bin/python -m bench.lists --database sqlite:////tmp/bench-lists.sqlite3
    .venv/bin/python -m bench.lists --database postgresql+psycopg://postgres@127.0.0.1/db

``--database`` drops and rebuilds the schema of the database it names. ``--explain`` also prints
the plan (``EXPLAIN ANALYZE`` on PostgreSQL) of every query each list runs. Figures:
docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import SECRET, database_url, manual_app
from bench.duplicates import (
    People,
    Timer,
    database_version,
    load_average,
    percentile,
    print_invocation,
    print_table,
)
from bench.submission import Gunicorn

ROOT = Path(__file__).resolve().parent.parent
FIRM_ID = 1
PASSWORD = "Lune-Boreale-Quai-42"
CHUNK = 10_000


# --------------------------------------------------------------------------- the bare endpoint


def bare_app() -> Any:
    """The baseline: a minimal Flask app reading one contact by primary key (gunicorn factory).

    ``DATABASE_URL`` names the database; the engine pools its connections as Flask-SQLAlchemy's
    does, and each request checks one out, runs the query and returns it.
    """
    from flask import Flask, jsonify
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["DATABASE_URL"])
    query = text("SELECT id, first_name, last_name, email FROM contacts WHERE id = :id")
    app = Flask("bare")

    @app.get("/bare/<int:contact_id>")
    def read(contact_id: int) -> Any:
        with engine.connect() as conn:
            row = conn.execute(query, {"id": contact_id}).one()
        return jsonify(id=row.id, first_name=row.first_name, last_name=row.last_name)

    return app


# --------------------------------------------------------------------------- the store


@dataclass
class Store:
    """What the build made and what the lists must answer."""

    firm_id: int
    responsable_id: int
    account_id: int
    contact_ids: list[int]
    with_grants: list[int]  # contacts holding at least one member grant of the firm
    contacts_total: int  # relations shown now
    relations_total: int
    grants_total: int  # grants shown now
    counts: dict[str, int]


CONTACT_TYPES = (
    ("membre_personnel", 88),
    ("individu_autorise", 4),
    ("contact", 4),
    ("administrateur_dossier", 2),
    ("dirigeant", 2),
)


def _propagated(
    rng: random.Random, at: dt.datetime, *, ended_share: float, pending_share: float
) -> dict[str, Any]:
    """Dates of a relation or grant: applied long ago (or just now, pending), maybe ended."""
    r = rng.random()
    if r < pending_share:  # applied 2 h ago, shown in 22 h
        applied = at - dt.timedelta(hours=2)
        visible = applied + dt.timedelta(hours=24)
    else:
        applied = at - dt.timedelta(days=rng.randrange(2, 900), minutes=rng.randrange(1440))
        visible = applied + dt.timedelta(hours=24)
    values: dict[str, Any] = {
        "start_date": applied.date(),
        "end_date": dt.date(9999, 12, 31),
        "active": True,
        "applied_at": applied,
        "visible_at": visible,
        "ended_at": None,
        "end_visible_at": None,
        "created_at": applied,
        "updated_at": applied,
    }
    if r >= pending_share and rng.random() < ended_share:
        if rng.random() < 0.1:  # ended 2 h ago: still shown Actif until the delay passes
            ended = at - dt.timedelta(hours=2)
        else:
            ended = applied + (at - applied) * rng.uniform(0.2, 0.95)
        values.update(
            active=False,
            end_date=ended.date(),
            ended_at=ended,
            end_visible_at=ended + dt.timedelta(hours=24),
            updated_at=ended,
        )
    return values


def generate(
    n_contacts: int, n_employers: int, n_grants: int, seed: int, at: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    """Rows of every table, ids given (the firm is 1, its clients 2…, contact i's active
    relation is i)."""
    rng = random.Random(seed)
    people = People(seed)
    organisations = [
        {
            "id": FIRM_ID,
            "client_number": "1000001",
            "name": "LAFORCE COMPTABLE INC",
            "kind": "accounting_firm",
            "language": "fr",
            "created_at": at,
            "updated_at": at,
        }
    ]
    for i in range(n_employers):
        organisations.append(
            {
                "id": 2 + i,
                "client_number": str(2_000_000 + i),
                "name": f"{people.surname().upper()} {rng.choice(SUFFIXES)} {i:03d}",
                "kind": "employer",
                "language": "fr",
                "created_at": at,
                "updated_at": at,
            }
        )
    org_relations = []
    for i in range(n_employers):
        values = _propagated(rng, at, ended_share=0.0, pending_share=0.0)
        org_relations.append(
            {
                "id": 1 + i,
                "organisation_id": 2 + i,
                "related_organisation_id": FIRM_ID,
                "type": "firme_comptable",
                **values,
            }
        )
    contacts, relations = [], []
    types = [t for t, _ in CONTACT_TYPES]
    weights = [w for _, w in CONTACT_TYPES]
    for cid in range(1, n_contacts + 1):
        first, last = people.first_name(), people.last_name()
        contacts.append(
            {
                "id": cid,
                "first_name": first,
                "last_name": last,
                "birth_date": people.birth_date(),
                "language": "fr",
                "email": people.email(first, last, cid),
                "created_at": at,
                "updated_at": at,
            }
        )
        kind = "responsable" if cid == 1 else rng.choices(types, weights=weights)[0]
        # Every contact keeps an active relation; a few are still waiting for the delay.
        values = _propagated(rng, at, ended_share=0.0, pending_share=0.005 if cid > 1 else 0)
        if cid == 1:
            values["visible_at"] = at - dt.timedelta(days=400)
            values["applied_at"] = values["visible_at"] - dt.timedelta(hours=24)
        relations.append(
            {"id": cid, "contact_id": cid, "organisation_id": FIRM_ID, "type": kind, **values}
        )
    ended_relations: list[dict[str, Any]] = []
    for cid in range(2, n_contacts + 1):
        if rng.random() < 0.1:  # an earlier relation, ended
            values = _propagated(rng, at, ended_share=1.0, pending_share=0.0)
            ended_relations.append(
                {
                    "id": n_contacts + 1 + len(ended_relations),
                    "contact_id": cid,
                    "organisation_id": FIRM_ID,
                    "type": rng.choice(("individu_autorise", "contact", "membre_personnel")),
                    **values,
                }
            )
    relations.extend(ended_relations)

    subjects = list(range(1, 10))  # ensure_subjects made 9 subjects, ids 1..9
    grants: list[dict[str, Any]] = []

    def grant(**fields: Any) -> None:
        values = _propagated(rng, at, ended_share=0.05, pending_share=0.005)
        grants.append(
            {
                "id": len(grants) + 1,
                "access_right": rng.choice(("read", "write")),
                "holder_organisation_id": None,
                "holder_contact_id": None,
                "contact_relation_id": None,
                "organisation_relation_id": None,
                **fields,
                **values,
            }
        )

    # The firm's own grants on each client's dossier (through the organisation relation).
    pairs = []
    for i in range(n_employers):
        for subject in rng.sample(subjects, rng.randint(3, 9)):
            grant(
                subject_id=subject,
                owner_organisation_id=2 + i,
                holder_organisation_id=FIRM_ID,
                organisation_relation_id=1 + i,
            )
            pairs.append((2 + i, subject))
    # Contacts' own subjects on the firm's dossier; ended relations keep a few ended grants.
    for rel in relations:
        own = rng.randint(0, 8) if rel["active"] else rng.randint(0, 2)
        for subject in rng.sample(subjects, own):
            grant(
                subject_id=subject,
                owner_organisation_id=FIRM_ID,
                holder_contact_id=rel["contact_id"],
                contact_relation_id=rel["id"],
            )
            if not rel["active"]:
                grants[-1].update(
                    active=False,
                    ended_at=rel["ended_at"],
                    end_visible_at=rel["end_visible_at"],
                    end_date=rel["end_date"],
                )
    # The rest: clients' subjects delegated to the firm's contacts (within what the firm holds).
    left = max(0, n_grants - len(grants))
    for k, cid in enumerate(range(1, n_contacts + 1)):
        quota = left // n_contacts + (1 if k < left % n_contacts else 0)
        for owner, subject in rng.sample(pairs, min(quota, len(pairs))):
            grant(
                subject_id=subject,
                owner_organisation_id=owner,
                holder_contact_id=cid,
                contact_relation_id=cid,
                organisation_relation_id=owner - 1,
            )
    return {
        "organisations": organisations,
        "organisation_relations": org_relations,
        "contacts": contacts,
        "contact_relations": relations,
        "grants": grants,
    }


# The store's tables the build fills, parents first.
TABLES = ("organisations", "organisation_relations", "contacts", "contact_relations", "grants")
SUFFIXES = ("INC.", "LTÉE", "CONSTRUCTION INC.", "ET FILS", "PLOMBERIE", "TOITURES", "S.E.N.C.")


def build(url: str, seed: int, sizes: tuple[int, int, int], timer: Timer) -> Store:
    """A fresh schema holding the firm; an account linked to its responsable."""
    from sqlalchemy import text

    from catalogue_svc.accounts.links import link_contact
    from catalogue_svc.accounts.service import create_verified_account
    from catalogue_svc.clock import utcnow
    from catalogue_svc.db import db
    from catalogue_svc.passwords import hash_password
    from catalogue_svc.profiles.service import ensure_subjects

    n_contacts, n_employers, n_grants = sizes
    at = utcnow()
    t = time.perf_counter()
    rows = generate(n_contacts, n_employers, n_grants, seed, at)
    t = timer.lap(
        f"{len(rows['contacts']):,} contacts, {len(rows['contact_relations']):,} relations, "
        f"{len(rows['grants']):,} grants generated",
        t,
    )
    app = manual_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        subjects = ensure_subjects()
        assert sorted(subjects.values()) == list(range(1, 10)), subjects
        db.session.commit()
        tables = db.metadata.tables
        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.begin() as conn:
            if postgres:
                # tests/servers.py runs PostgreSQL with synchronous_commit=off: a commit whose WAL
                # is not flushed yet leaves its rows without the "committed" hint, and VACUUM
                # then marks no page all-visible, so the planner prices index-only scans as
                # heap visits. A synchronous commit gives the state of a store in service.
                conn.execute(text("SET LOCAL synchronous_commit TO on"))
            for name in TABLES:
                table = tables[name]
                for start in range(0, len(rows[name]), CHUNK):
                    conn.execute(table.insert(), rows[name][start : start + CHUNK])
        t = timer.lap("inserted (Core executemany)", t)
        if postgres:
            with db.engine.begin() as conn:
                for name in TABLES:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        t = timer.lap("vacuumed and analysed" if postgres else "analysed", t)

        account = create_verified_account(
            email="responsable@laforce.example",
            password_hash=hash_password(PASSWORD),
            first_name=rows["contacts"][0]["first_name"],
            last_name=rows["contacts"][0]["last_name"],
        )
        link_contact(
            account_id=account.id,
            contact_id=1,
            organisation_id=FIRM_ID,
            method="linking_code",
        )
        db.session.commit()
        account_id = account.id
        db.session.remove()
        db.engine.dispose()

    def shown(row: dict[str, Any]) -> bool:
        return bool(row["visible_at"] <= at + dt.timedelta(hours=1))

    member = {r["id"] for r in rows["contact_relations"]}
    shown_grants = [g for g in rows["grants"] if shown(g)]
    with_grants = sorted(
        {g["holder_contact_id"] for g in shown_grants if g["contact_relation_id"] in member}
    )
    return Store(
        firm_id=FIRM_ID,
        responsable_id=1,
        account_id=account_id,
        contact_ids=[c["id"] for c in rows["contacts"]],
        with_grants=with_grants,
        contacts_total=sum(map(shown, rows["contact_relations"])),
        relations_total=sum(map(shown, rows["organisation_relations"])),
        grants_total=len(shown_grants),
        counts={name: len(table) for name, table in rows.items()},
    )


def open_session(url: str, account_id: int) -> tuple[str, str, str]:
    """A session opened server-side (as tests/accounts_helpers.py does): cookie name, token, CSRF."""
    from catalogue_svc.accounts import sessions
    from catalogue_svc.accounts.models import Account
    from catalogue_svc.db import db

    app = manual_app(url)
    with app.app_context(), app.test_request_context("/api/session", method="POST"):
        account = db.session.get(Account, account_id)
        assert account is not None
        token, row = sessions.open_session(account)
        db.session.commit()
        csrf = row.csrf_token
        db.session.remove()
        db.engine.dispose()
    return str(app.config["SESSION_COOKIE_NAME"]), token, csrf


# --------------------------------------------------------------------------- servers


def gunicorn(target: str, url: str, logdir: str, name: str) -> Gunicorn:
    """``gunicorn -w 2`` (sync workers) serving ``target`` on ``url``'s database, no Redis."""
    env = {
        "DATABASE_URL": url,
        "CATALOGUE_SECRET_KEY": SECRET,
        "CATALOGUE_INSTANCE_PATH": os.path.join(logdir, "instance"),
    }
    return Gunicorn(target, env, logdir, name)


# --------------------------------------------------------------------------- the measured phases


@dataclass
class Endpoint:
    name: str
    path: Callable[[int], str]  # round → path
    check: Callable[[dict[str, Any], int], None]
    bare: bool = False


def endpoints(store: Store, seed: int) -> list[Endpoint]:
    """The five calls of one round."""
    firm = store.firm_id
    rng = random.Random(seed)
    filtered = [rng.choice(store.with_grants) for _ in range(100_000)]
    bare_ids = [rng.choice(store.contact_ids) for _ in range(100_000)]

    def total(expected: int) -> Callable[[dict[str, Any], int], None]:
        def check(body: dict[str, Any], _: int) -> None:
            if body.get("total_exact") is False:  # past the count cap: a lower bound
                assert body["total"] <= expected, (body["total"], expected)
            else:
                assert body["total"] == expected, (body["total"], expected)
            assert len(body["items"]) == min(50, expected)

        return check

    def filtered_check(body: dict[str, Any], i: int) -> None:
        assert body["total"] >= 1 and body["items"], body
        assert all(item["contact"]["id"] == filtered[i] for item in body["items"])

    def bare_check(body: dict[str, Any], i: int) -> None:
        assert body["id"] == bare_ids[i]

    return [
        Endpoint(
            "contacts", lambda i: f"/api/profiles/{firm}/contacts", total(store.contacts_total)
        ),
        Endpoint(
            "relations", lambda i: f"/api/profiles/{firm}/relations", total(store.relations_total)
        ),
        Endpoint(
            "authorizations",
            lambda i: f"/api/profiles/{firm}/authorizations",
            total(store.grants_total),
        ),
        Endpoint(
            "authorizations?contact_id",
            lambda i: f"/api/profiles/{firm}/authorizations?contact_id={filtered[i]}",
            filtered_check,
        ),
        Endpoint("bare", lambda i: f"/bare/{bare_ids[i]}", bare_check, bare=True),
    ]


def run_http(
    app_base: str,
    bare_base: str,
    cookie: tuple[str, str, str],
    calls: list[Endpoint],
    rounds: int,
    warmup: int,
) -> dict[str, list[float]]:
    """Interleaved rounds (one call of each endpoint per round), one call at a time; ms."""
    import requests

    name, token, csrf = cookie
    client = requests.Session()
    client.cookies.set(name, token, domain="127.0.0.1", path="/")
    client.headers["X-CSRF-Token"] = csrf
    bare = requests.Session()
    times: dict[str, list[float]] = {e.name: [] for e in calls}
    for i in range(-warmup, rounds):
        for e in calls:
            session, base = (bare, bare_base) if e.bare else (client, app_base)
            start = time.perf_counter()
            answer = session.get(base + e.path(i % 100_000))
            elapsed = time.perf_counter() - start
            if answer.status_code != 200:
                raise SystemExit(f"{e.name}: HTTP {answer.status_code} {answer.text[:500]}")
            e.check(answer.json(), i % 100_000)
            if i >= 0:
                times[e.name].append(elapsed * 1000)
    return times


def run_in_process(
    url: str, store: Store, calls: int, seed: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """``require_profile`` and one primary-key read, each call in a fresh transaction; ms.

    Each call starts after ``rollback`` and a ``SELECT 1`` (untimed), as in a request, where the
    session lookup has already begun the transaction; the objects loaded before are expired.
    Also each list's first page called in-process (no HTTP), for the diagnosis. Second value:
    the statements (round trips) each timed call sent, on average.
    """
    from sqlalchemy import event, text

    from catalogue_svc import access
    from catalogue_svc.db import db
    from catalogue_svc.profiles import lists
    from catalogue_svc.profiles.models import Contact

    rng = random.Random(seed)
    app = manual_app(url)
    out: dict[str, list[float]] = {"access": [], "pk": []}
    sent: dict[str, float] = {}
    one = text("SELECT 1")
    with app.app_context():
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)

        def timed(name: str, fn: Callable[[], Any], n: int) -> None:
            result = []
            for _ in range(n // 10):  # warm-up
                fn()
                db.session.rollback()
            total = 0
            for _ in range(n):
                db.session.execute(one)
                statements[0] = 0
                start = time.perf_counter()
                fn()
                result.append((time.perf_counter() - start) * 1000)
                total += statements[0]
                db.session.rollback()
            out[name], sent[name] = result, total / n

        def check() -> None:
            got = access.require_profile(store.account_id, store.firm_id, manage=True)
            assert got.can_manage

        timed("access", check, calls)
        timed("pk", lambda: db.session.get(Contact, rng.choice(store.contact_ids)), calls)
        firm = store.firm_id
        page: dict[str, Any] = {"page": 1, "per_page": 50}
        timed("contacts (in-process)", lambda: lists.contacts(firm, **page), 100)
        timed("relations (in-process)", lambda: lists.relations(firm, **page), 100)
        timed(
            "authorizations (in-process)",
            lambda: lists.authorizations(firm, contact_id=None, **page),
            100,
        )
        timed(
            "authorizations page 80, the contacts' part (in-process)",
            lambda: lists.authorizations(firm, contact_id=None, page=80, per_page=50),
            100,
        )
        timed(
            "authorizations?contact_id (in-process)",
            lambda: lists.authorizations(firm, contact_id=rng.choice(store.with_grants), **page),
            100,
        )
        event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
        db.engine.dispose()
    return out, sent


def explain(url: str, store: Store) -> None:
    """Print the plan of every SELECT each list runs (EXPLAIN ANALYZE on PostgreSQL)."""
    from sqlalchemy import event

    from catalogue_svc.db import db
    from catalogue_svc.profiles import lists

    app = manual_app(url)
    page: dict[str, Any] = {"page": 1, "per_page": 50}
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("contacts", lambda: lists.contacts(store.firm_id, **page)),
        ("relations", lambda: lists.relations(store.firm_id, **page)),
        ("authorizations", lambda: lists.authorizations(store.firm_id, contact_id=None, **page)),
        (
            "authorizations?contact_id",
            lambda: lists.authorizations(
                store.firm_id, contact_id=store.with_grants[len(store.with_grants) // 2], **page
            ),
        ),
    ]
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        for name, fn in cases:
            seen: list[tuple[str, Any]] = []

            def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
                if statement.lstrip().upper().startswith("SELECT"):
                    seen.append((statement, params))  # noqa: B023

            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                fn()
                db.session.rollback()
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            for statement, params in seen:
                raw = db.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    cur.execute(prefix + statement, params)
                    plan = "\n".join("    " + " | ".join(map(str, r)) for r in cur.fetchall())
                finally:
                    raw.close()
                print(f"\n--- {name}: {' '.join(statement.split())[:300]}…\n{plan}")
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Build the firm, start both servers, measure, print the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.lists",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    parser.add_argument(
        "--start-postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (tests/servers.py) and use it",
    )
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--employers", type=int, default=500)
    parser.add_argument("--grants", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=300, help="measured rounds through HTTP")
    parser.add_argument("--warmup", type=int, default=30, help="rounds before measuring")
    parser.add_argument("--access-calls", type=int, default=2000)
    parser.add_argument("--explain", action="store_true", help="print each list query's plan")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    print_invocation("bench.lists", argv)

    with ExitStack() as stack:
        url = database_url(stack, args, "bench-lists.sqlite3")
        print(f"database: {database_version(url)} ({url})")
        timer = Timer()
        store = build(url, args.seed, (args.contacts, args.employers, args.grants), timer)
        print(
            "  rows: "
            + ", ".join(f"{name} {n:,}" for name, n in store.counts.items())
            + f"; shown now: {store.contacts_total:,} contact relations, "
            f"{store.relations_total:,} organisation relations, {store.grants_total:,} grants"
        )
        cookie = open_session(url, store.account_id)
        logdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-lists-"))
        t = time.perf_counter()
        service = gunicorn("catalogue_svc:create_app()", url, logdir, "service")
        stack.callback(service.stop)
        bare = gunicorn("bench.lists:bare_app()", url, logdir, "bare")
        stack.callback(bare.stop)
        t = timer.lap("both gunicorns listening", t)
        calls = endpoints(store, args.seed + 1)
        http = run_http(service.base, bare.base, cookie, calls, args.calls, args.warmup)
        t = timer.lap(
            f"{args.calls} rounds × {len(calls)} calls through HTTP "
            f"(load average {load_average()})",
            t,
        )
        inproc, sent = run_in_process(url, store, args.access_calls, args.seed + 2)
        timer.lap(f"in-process calls (load average {load_average()})", t)
        if args.explain:
            explain(url, store)

    b50, b95 = percentile(http["bare"], 50), percentile(http["bare"], 95)
    rows: list[tuple[str, float, float, int]] = []
    for e in calls[:-1]:
        rows.append((f"{e.name} p50 (ms)", percentile(http[e.name], 50), b50, 2))
        rows.append((f"{e.name} p95 (ms)", percentile(http[e.name], 95), b95, 2))
    rows.append(("bare endpoint p50 / p95 (ms)", b50, b95, 2))
    p50, p95 = percentile(inproc["pk"], 50), percentile(inproc["pk"], 95)
    rows.append(("access check in-process p50 (ms)", percentile(inproc["access"], 50), p50, 3))
    rows.append(("access check in-process p95 (ms)", percentile(inproc["access"], 95), p95, 3))
    print()
    print(
        f"{store.counts['contacts']:,} contacts, {args.employers} client employers, "
        f"{store.counts['grants']:,} grants; {args.calls} rounds through HTTP "
        "(gunicorn, 2 sync workers, one client); baseline: a bare Flask endpoint reading one "
        "contact by primary key (same run, same database); access check: "
        f"{args.access_calls} in-process calls, baseline one in-process primary-key read"
    )
    print()
    print_table(rows)
    print()
    print("in-process, for the diagnosis (ms; statements sent per call):")
    for name, values in inproc.items():
        if name.endswith("(in-process)") or name == "access":
            print(
                f"  {name}: p50 {percentile(values, 50):.2f}, p95 {percentile(values, 95):.2f}; "
                f"{sent[name]:g} statement(s)"
            )
    print()
    goals = []
    for e in calls[:-1]:
        v = percentile(http[e.name], 95)
        goals.append(
            f"{e.name} p95 ≤ 5 × bare p95: {'met' if v <= 5 * b95 else 'NOT met'} "
            f"({v:.2f} ms vs {5 * b95:.2f} ms)"
        )
    a95 = percentile(inproc["access"], 95)
    goals.append(f"access check p95 ≤ 1 ms: {'met' if a95 <= 1.0 else 'NOT met'} ({a95:.3f} ms)")
    print("\n".join(goals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
