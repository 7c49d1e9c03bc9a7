"""The dossier import at scale: contacts/s beside a raw PostgreSQL COPY of the same contacts.

Writes a dossiers file (docs/import-format.md) of N synthetic Québec contacts (``bench.duplicates``'
generator: accents, compound names, emails, phones, client numbers) with their organisations,
one relation each to an organisation, their grants (one on the organisation's dossier through
that relation, and delegated subjects of a client for a firm's members) and a few thousand legacy
credentials. Then, in a fresh process (so that its peak RSS is its own), ``import_file`` runs the
whole import: JSON parse, whole-file validation, apply in one transaction, commit. Argon2id
hashing of the legacy passwords is timed apart and taken out of the contacts/s figure.

Baselines, same run, same server:

* **the fair one**: ``COPY`` of the very rows the import wrote (organisations, contacts, phones,
  relations, grants, legacy credentials, history, duplicate-check keys, subjects, audit), dumped
  from the database after the import, into the same schema freshly created (its indexes, primary
  and unique keys and foreign keys), table after table in one transaction, committed: what
  writing the import's result costs the server, with no validation nor Python at all. Goal: the
  import at least 0.5× its speed (issue 19, item 4);
* the bare one: ``COPY`` of the same contacts (the contact columns and one phone, as text) into
  a bare table without index, for the record.

A script that prints figures, never a timed test::

    .venv/bin/python -m bench.imports                      # 1,000,000 contacts, PostgreSQL started here
    .venv/bin/python -m bench.imports --contacts 100000    # a quick run
    .venv/bin/python -m bench.imports --database postgresql+psycopg://postgres@127.0.0.1/db

``--database`` drops and rebuilds the schema of the database it names. ``--profile FILE``
writes a cProfile of the import process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import dsn, manual_app, run_alone
from bench.memory import peak_rss_mib
from bench.table import Row, at_most, info, ratio_at_least

BENCH = "import"
SUBJECTS = ("main_oeuvre", "rapport_mensuel", "paiements", "releves_remises", "coordonnees")
DELEGABLE = ("main_oeuvre", "rapport_mensuel", "paiements", "releves_remises")
RELATION_TYPES = (
    ("membre_personnel", 80),
    ("individu_autorise", 8),
    ("contact", 6),
    ("administrateur_dossier", 3),
    ("dirigeant", 3),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``bench/run.py``)."""
    group = parser.add_argument_group("import")
    group.add_argument(
        "--contacts", type=int, default=1_000_000, help="contacts in the imported file"
    )
    group.add_argument(
        "--legacy",
        type=int,
        default=None,
        help="legacy credentials in the file (default: N/500, between 20 and 2,000)",
    )
    group.add_argument("--import-seed", type=int, default=20240701)
    group.add_argument("--profile", help="write a cProfile of the import process to this file")


# --------------------------------------------------------------------------- the file


def _organisation_count(n: int) -> int:
    return max(10, n // 50)


def write_file(path: Path, n: int, legacy: int, seed: int) -> dict[str, int]:
    """Write the dossiers file; returns the rows per section."""
    from bench.duplicates import generate_contacts

    rng = random.Random(seed)
    people = generate_contacts(n, seed)
    n_orgs = _organisation_count(n)
    n_firms = max(2, n_orgs // 5)
    cn = [str(3_000_000 + i) for i in range(n_orgs)]  # firms first, then employers
    start = dt.date(2015, 1, 1)
    counts = dict.fromkeys(
        ("organisations", "contacts", "contact_relations", "organisation_relations"), 0
    )
    counts.update(grants=0, legacy_credentials=0)
    types = [t for t, _ in RELATION_TYPES]
    weights = [w for _, w in RELATION_TYPES]
    # A firm's clients: employer i is a client of firm i % n_firms.
    clients: dict[int, list[int]] = {}
    for i in range(n_firms, n_orgs):
        clients.setdefault(i % n_firms, []).append(i)

    def dump(rows: Iterator[dict[str, Any]], section: str) -> Iterator[str]:
        first = True
        for row in rows:
            counts[section] += 1
            yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
            first = False

    def organisations() -> Iterator[dict[str, Any]]:
        for i in range(n_orgs):
            firm = i < n_firms
            yield {
                "client_number": cn[i],
                "name": f"{'FIRME' if firm else 'ENTREPRISE'} {people[i % n][2].upper()} {i}",
                "kind": "accounting_firm" if firm else "employer",
                "language": "fr",
                "email": f"info{i}@org{i}.example",
                "phone": "514 555-0100",
                "address": {"street": f"{i} rue Principale", "city": "Montréal", "province": "QC"},
            }

    def org_of(contact_id: int) -> int:
        return contact_id % n_orgs

    def contacts() -> Iterator[dict[str, Any]]:
        for contact_id, first, last, born, email, phone, client_number in people:
            row: dict[str, Any] = {"ref": f"C{contact_id:08d}"}
            if client_number:
                row["client_number"] = client_number
            row.update(
                first_name=first,
                last_name=last,
                birth_date=born.isoformat(),
                language="fr" if rng.random() < 0.85 else "en",
            )
            if email:
                row["email"] = email
            if phone:
                row["phones"] = [{"type": "cellulaire", "number": phone}]
            yield row

    kinds: dict[int, str] = {}

    def relations() -> Iterator[dict[str, Any]]:
        for contact_id in range(1, n + 1):
            org = org_of(contact_id)
            kind = "responsable" if contact_id <= n_orgs else rng.choices(types, weights)[0]
            kinds[contact_id] = kind
            yield {
                "contact": f"C{contact_id:08d}",
                "organisation": cn[org],
                "type": kind,
                "start_date": (start + dt.timedelta(days=contact_id % 2000)).isoformat(),
            }

    def org_relations() -> Iterator[dict[str, Any]]:
        for firm, employers in clients.items():
            for employer in employers:
                yield {
                    "organisation": cn[employer],
                    "related_organisation": cn[firm],
                    "start_date": start.isoformat(),
                }

    def grants() -> Iterator[dict[str, Any]]:
        for contact_id in range(1, n + 1):
            org = org_of(contact_id)
            holder = {"contact": f"C{contact_id:08d}", "relation": {"type": kinds[contact_id]}}
            yield {
                "subject": rng.choice(SUBJECTS),
                "owner": cn[org],
                "right": rng.choice(("read", "write")),
                "holder": holder,
            }
            # One firm member in five holds a subject of one of the firm's clients.
            if org < n_firms and clients.get(org) and rng.random() < 0.2:
                yield {
                    "subject": rng.choice(DELEGABLE),
                    "owner": cn[rng.choice(clients[org])],
                    "right": "read",
                    "holder": {
                        "contact": f"C{contact_id:08d}",
                        "relation": {"organisation": cn[org], "type": kinds[contact_id]},
                    },
                }

    def credentials() -> Iterator[dict[str, Any]]:
        for contact_id in range(1, min(legacy, n) + 1):
            yield {
                "username": f"ancien.{contact_id}",
                "password": f"Mot-de-passe-{rng.randrange(10**9)}",
                "contact": f"C{contact_id:08d}",
                "organisation": cn[org_of(contact_id)],
            }

    with path.open("w", encoding="utf-8") as out:
        out.write('{"version": 1,\n')
        for section, rows, last in (
            ("organisations", organisations(), False),
            ("contacts", contacts(), False),
            ("contact_relations", relations(), False),
            ("organisation_relations", org_relations(), False),
            ("grants", grants(), False),
            ("legacy_credentials", credentials(), True),
        ):
            out.write(f'"{section}": [\n')
            for chunk in dump(rows, section):
                out.write(chunk)
            out.write("\n]" + ("}\n" if last else ",\n"))
    return counts


def copy_text(path: Path) -> tuple[str, int]:
    """The file's contacts as COPY text (ref, client number, names, birth date, language,
    email, first phone): the baseline's input, made before its timing starts."""
    from bench.duplicates import _copy_text

    def cell(value: Any) -> str:
        return "\\N" if value is None else _copy_text(str(value))

    document = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for c in document["contacts"]:
        phone = c["phones"][0]["number"] if c.get("phones") else None
        lines.append(
            "\t".join(
                cell(c.get(k))
                for k in (
                    "ref",
                    "client_number",
                    "first_name",
                    "last_name",
                    "birth_date",
                    "language",
                    "email",
                )
            )
            + "\t"
            + cell(phone)
            + "\n"
        )
    return "".join(lines), len(lines)


# --------------------------------------------------------------------------- the fair baseline


def dump_tables(url: str, folder: Path) -> list[tuple[str, str, Path, int]]:
    """``COPY … TO`` a file of every non-empty table, in the order their foreign keys allow
    loading them: (table, column list, file, rows)."""
    import psycopg

    from catalogue_svc.db import db

    manual_app(url)  # the models, hence the metadata
    dumped = []
    with psycopg.connect(dsn(url)) as conn:
        for table in db.metadata.sorted_tables:
            name = f'"{table.name}"'
            count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            if not count:
                continue
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            file = folder / f"{table.name}.copy"
            with (
                file.open("wb") as out,
                conn.cursor() as cur,
                cur.copy(f"COPY {name} ({columns}) TO STDOUT") as copy,
            ):
                for data in copy:
                    out.write(data)
            dumped.append((name, columns, file, int(count)))
    return dumped


def run_fair_copy(url: str, dumped: list[tuple[str, str, Path, int]]) -> float:
    """Seconds for ``COPY … FROM STDIN`` of the dumped tables into the fresh schema (indexes and
    foreign keys in place), one transaction, committed."""
    import psycopg

    reset_schema(url)
    with psycopg.connect(dsn(url)) as conn:
        start = time.perf_counter()
        for name, columns, file, _ in dumped:
            with (
                file.open("rb") as source,
                conn.cursor() as cur,
                cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy,
            ):
                while data := source.read(1 << 20):
                    copy.write(data)
        conn.commit()
        return time.perf_counter() - start


# --------------------------------------------------------------------------- the measured phases


def reset_schema(url: str) -> None:
    """Drop and create every table of the service."""
    from catalogue_svc.db import db

    app = manual_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()


def run_copy(url: str, text_rows: str) -> float:
    """Seconds for ``COPY bench_contacts FROM STDIN`` of ``text_rows`` (a bare table), committed."""
    import psycopg

    with psycopg.connect(dsn(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_contacts")
        conn.execute(
            "CREATE TABLE bench_contacts (id bigserial PRIMARY KEY, ref text, client_number text, "
            "first_name text, last_name text, birth_date date, language text, email text, "
            "phone text)"
        )
        conn.commit()
        data = text_rows.encode()
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY bench_contacts (ref, client_number, first_name, last_name, birth_date, "
                "language, email, phone) FROM STDIN"
            ) as copy,
        ):
            view = memoryview(data)
            for offset in range(0, len(data), 1 << 20):
                copy.write(view[offset : offset + (1 << 20)])
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_contacts")
        conn.commit()
    return elapsed


def _timed(
    owner: Any, name: str, laps: dict[str, float], label: str | None = None
) -> Callable[[], None]:
    """Wrap ``owner.name`` to add its wall time to ``laps[label]``; returns the undo."""
    original = getattr(owner, name)
    label = label or name

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            laps[label] = laps.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def run_import(url: str, path: str, profile: str | None) -> dict[str, Any]:
    """In a fresh process: ``import_file(path)``, with the time of each phase and of hashing."""
    import json as json_module

    from catalogue_svc.db import db
    from catalogue_svc.duplicates import keys as duplicate_keys
    from catalogue_svc.imports import apply, apply_links, service, validation

    app = manual_app(url)
    laps: dict[str, float] = {}
    undo = [
        _timed(service, "read_text", laps, "read the file (UTF-8)"),
        _timed(json_module, "loads", laps, "parse JSON whole (files the reader cannot stream)"),
        _timed(validation.Snapshot, "load", laps, "read the database (snapshot)"),
        _timed(validation.Validator, "parse_members", laps, "parse JSON and validate rows"),
        _timed(validation.Validator, "check", laps, "validate references"),
        _timed(apply.Applier, "_organisations", laps, "apply: organisations"),
        _timed(apply.Applier, "_contacts", laps, "apply: contacts and phones (with keys)"),
        _timed(
            apply.Applier, "_new_contact_keys", laps, "  of which duplicate-check keys (staged)"
        ),
        _timed(duplicate_keys, "refresh_keys", laps, "  of which refresh_keys"),
        _timed(
            apply.Applier, "_move_staged_keys", laps, "apply: duplicate-check keys into their table"
        ),
        _timed(apply.Applier, "_relations", laps, "apply: contact relations"),
        _timed(apply.Applier, "_org_relations", laps, "apply: organisation relations"),
        _timed(apply.Applier, "_grants", laps, "apply: grants"),
        _timed(apply.Applier, "_legacy", laps, "apply: legacy credentials (with hashing)"),
        _timed(apply_links, "_parallel", laps, "  of which Argon2id hashing"),
        _timed(apply.Applier, "_linking", laps, "apply: linking credentials"),
        _timed(apply.Applier, "_write_changes", laps, "  of which history rows (profile_changes)"),
        _timed(apply.Applier, "run", laps, "apply (all)"),
    ]
    # The history rows are the last _insert of Applier.run.
    original_insert = apply.Applier._insert

    def insert(self: Any, model: Any, rows: Any, key: Any = None) -> Any:
        start = time.perf_counter()
        try:
            return original_insert(self, model, rows, key)
        finally:
            label = f"  of which bulk inserts into {model.__tablename__}"
            laps[label] = laps.get(label, 0.0) + time.perf_counter() - start

    apply.Applier._insert = insert  # type: ignore[method-assign]
    original_commit = db.session.commit
    with app.app_context():
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        counts = service.import_file(path)
        total = time.perf_counter() - start
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        db.session.remove()
        db.engine.dispose()
    del original_commit
    for fn in undo:
        fn()
    apply.Applier._insert = original_insert  # type: ignore[method-assign]
    return {
        "total": total,
        "laps": laps,
        "counts": counts,
        # VmHWM, not getrusage: ru_maxrss survives exec, so a process spawned by a large
        # parent (bench/run.py after other benchmarks) would report the parent's peak.
        "peak_rss_mib": peak_rss_mib(os.getpid()),
    }


def hash_rate(samples: int = 20) -> float:
    """Argon2id hashes per second of one thread here (the hashing's own baseline)."""
    from catalogue_svc.passwords import hash_password

    start = time.perf_counter()
    for i in range(samples):
        hash_password(f"Mot-de-passe-{i}")
    return samples / (time.perf_counter() - start)


# --------------------------------------------------------------------------- entry points


def measure(args: argparse.Namespace, url: str | None = None) -> dict[str, Any]:
    """Write the file, COPY the contacts, import the file; the figures and the timings."""
    n = args.contacts
    legacy = args.legacy if args.legacy is not None else min(2000, max(20, n // 500))
    with ExitStack() as stack:
        spawn = mp.get_context("spawn")
        importer = stack.enter_context(spawn.Pool(1, maxtasksperchild=1))
        if url is None:
            url = getattr(args, "database", None)
        if url is None:
            from tests.servers import Postgres

            server = Postgres.start()
            stack.callback(server.stop)
            url = server.url
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-import-")))
        path = folder / "dossiers.json"
        t = time.perf_counter()
        sections = write_file(path, n, legacy, args.import_seed)
        size = path.stat().st_size
        print(
            f"  [import] file written in {time.perf_counter() - t:.1f} s: {size / 2**20:,.0f} MiB, "
            + ", ".join(f"{k} {v:,}" for k, v in sections.items()),
            flush=True,
        )
        text_rows, copied = copy_text(path)
        reset_schema(url)
        copy_seconds = run_copy(url, text_rows)
        del text_rows
        print(f"  [import] COPY of {copied:,} contacts: {copy_seconds:.2f} s", flush=True)
        t = time.perf_counter()
        result = importer.apply(run_import, (url, str(path), getattr(args, "profile", None)))
        print(
            f"  [import] import_file: {result['total']:.1f} s "
            f"(wall {time.perf_counter() - t:.1f} s), peak RSS {result['peak_rss_mib']:,.0f} MiB",
            flush=True,
        )
        for name, seconds in result["laps"].items():
            print(f"      {name}: {seconds:.1f} s", flush=True)
        dumped = dump_tables(url, folder)
        fair_seconds = run_fair_copy(url, dumped)
        for _, _, file, _ in dumped:
            file.unlink()
        written = sum(count for *_, count in dumped)
        print(
            f"  [import] COPY of the {written:,} rows the import wrote, into the schema with its "
            f"indexes and foreign keys: {fair_seconds:.1f} s ("
            + ", ".join(f"{name.strip(chr(34))} {count:,}" for name, _, _, count in dumped)
            + ")",
            flush=True,
        )
        one_thread = hash_rate()
    result.update(
        contacts=n,
        legacy=legacy,
        sections=sections,
        file_mib=size / 2**20,
        copy_seconds=copy_seconds,
        fair_copy_seconds=fair_seconds,
        rows_written=written,
        hash_rate_one_thread=one_thread,
    )
    return result


def rows(args: argparse.Namespace, url: str | None = None) -> list[Row]:
    """The import's figures, beside the COPY baseline."""
    r = measure(args, url)
    n = r["contacts"]
    hashing = r["laps"].get("  of which Argon2id hashing", 0.0)
    without_hashing = r["total"] - hashing
    rate = n / without_hashing if without_hashing > 0 else math.nan
    copy_rate = n / r["copy_seconds"]
    hashes = r["counts"]["legacy_credentials"]["created"] + r["counts"]["legacy_credentials"].get(
        "updated", 0
    )
    cores = min(8, os.cpu_count() or 1)
    fair_rate = n / r["fair_copy_seconds"]
    return [
        ratio_at_least(
            BENCH,
            f"contacts/s, {n:,} contacts, validation included, hashing apart; baseline: COPY of "
            f"the {r['rows_written']:,} rows it wrote, into the schema with indexes and keys",
            rate,
            fair_rate,
            0.5,
            0,
        ),
        info(
            BENCH,
            "contacts/s of a COPY into a bare table (the first baseline)",
            copy_rate,
            digits=0,
        ),
        info(
            BENCH, "import wall time without hashing (s)", without_hashing, r["fair_copy_seconds"]
        ),
        info(
            BENCH,
            f"Argon2id hashes/s ({hashes:,} legacy passwords; baseline {cores}× one thread)",
            hashes / hashing if hashing else math.nan,
            r["hash_rate_one_thread"] * cores,
        ),
        at_most(
            BENCH,
            f"peak RSS of the import process, {n:,} contacts (MiB)",
            r["peak_rss_mib"],
            1024,
            "MiB",
            digits=0,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the import benchmark alone and print its table."""
    return run_alone(argv, "bench.imports", __doc__, add_arguments, rows)


if __name__ == "__main__":
    sys.exit(main())
