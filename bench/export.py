"""The authorizations export at the scale of ``bench.lists`` (issue 18, item 4): 200,000 grants
exported as CSV and as JSON, with the export's peak memory.

Builds the same firm as ``bench.lists`` (10,000 contacts, 500 client employers, 200,000 grants),
then, in-process, drains ``exports.service.authorizations`` through ``as_csv`` and ``as_json``
as the streamed answer would, keeping only the byte count. Peak memory is ``tracemalloc``'s peak
of Python allocations during each export; the baseline is the same measure for building one
page of 500 rows of the authorizations list: constant memory means the export's peak stays of
the order of one page, whatever the number of rows. A script that prints figures, never a timed
test::

    .venv/bin/python -m bench.export
    .venv/bin/python -m bench.export --start-postgres
    .venv/bin/python -m bench.export --grants 20000 --contacts 1000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from bench.common import database_url, manual_app
from bench.duplicates import Timer, database_version
from bench.lists import build


def _peak(produce: Callable[[], Iterator[str] | Any]) -> tuple[float, int, int, float]:
    """(peak MiB, bytes written, chunks, seconds) of draining ``produce()``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t = time.perf_counter()
    written = chunks = 0
    result = produce()
    if isinstance(result, dict):
        written = len(str(result))
        chunks = 1
    else:
        for chunk in result:
            written += len(chunk.encode("utf-8"))
            chunks += 1
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, written, chunks, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    """Build the firm, export its authorizations, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    parser.add_argument("--start-postgres", action="store_true")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--employers", type=int, default=500)
    parser.add_argument("--grants", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = database_url(stack, args, "bench-export.sqlite3")
        print(f"database: {database_version(url)} ({url})")
        timer = Timer()
        store = build(url, args.seed, (args.contacts, args.employers, args.grants), timer)
        print(f"  grants shown now: {store.grants_total:,}")
        app = manual_app(url)
        from catalogue_svc.exports import service
        from catalogue_svc.profiles import lists

        rows = []
        with app.app_context():
            firm = store.firm_id
            rows.append(
                (
                    "one page of 500 (the list)",
                    *_peak(
                        lambda: lists.authorizations(
                            firm, contact_id=None, page=1, per_page=500, lang="fr"
                        )
                    ),
                )
            )
            rows.append(
                (
                    "CSV export",
                    *_peak(
                        lambda: service.as_csv("authorizations", service.authorizations(firm, "fr"))
                    ),
                )
            )
            rows.append(
                ("JSON export", *_peak(lambda: service.as_json(service.authorizations(firm, "fr"))))
            )
    print()
    print(f"{'':30} {'peak MiB':>9} {'bytes':>13} {'chunks':>7} {'seconds':>8}")
    for name, peak, written, chunks, elapsed in rows:
        print(f"{name:30} {peak:9.2f} {written:13,} {chunks:7,} {elapsed:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
