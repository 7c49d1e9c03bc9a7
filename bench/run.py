"""Every benchmark, one table: ``make bench`` (``python -m bench.run``).

Runs, in turn, each benchmark of ``bench/`` (each starts the servers it needs on loopback:
PostgreSQL and Redis from ``tests/servers.py``, gunicorn) and prints one table: figure, value,
baseline measured in the same run, ratio, goal, met? Absolute figures drift from one machine, and
one moment, to another (``shared/PERFORMANCE.md``); the ratio to the same-run baseline is what
the goals are about. The table is printed at the end, after each benchmark's own progress lines.

* ``submission`` (``bench/submission.py``): the submission API at 16 connections beside a bare
  insert endpoint, on PostgreSQL + Redis, and in the embedded mode;
* ``memory`` (``bench/memory.py``): peak RSS of a web worker and of a worker after that load;
* ``import`` (``bench/imports.py``): the dossier import beside a COPY of the same contacts;
* ``duplicates`` and ``lists``: ``bench/duplicates.py`` and ``bench/lists.py``, run through their
  own functions at modest sizes by default (``--dup-contacts 1000000``, ``--lists-contacts
  10000 --lists-grants 200000`` for their full sizes);
* ``pipeline`` (``bench/pipeline.py``): submitted → applied with 2 workers beside RQ's no-op
  drain, the light-load latency, and the workers' peak RSS (``--pipeline-args "--requests N"``).

A benchmark that fails is reported (its traceback, and a row saying so) and the others still
run. ::

    .venv/bin/python -m bench.run                       # everything, 1,000,000 imported contacts
    .venv/bin/python -m bench.run --contacts 100000     # a quicker import
    .venv/bin/python -m bench.run --only submission,memory
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench import imports, memory, pipeline, submission
from bench.table import Row, at_least, at_most, info, machine, print_table, ratio_at_most

BENCHES = ("submission", "memory", "import", "duplicates", "lists", "pipeline")


# --------------------------------------------------------------------------- duplicates


def _add_duplicates_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("duplicates (bench/duplicates.py)")
    group.add_argument("--dup-contacts", type=int, default=200_000, help="full size: 1000000")
    group.add_argument("--dup-submissions", type=int, default=1000)
    group.add_argument("--dup-baseline-submissions", type=int, default=100)
    group.add_argument("--dup-workers", type=int, default=os.cpu_count() or 1)
    group.add_argument("--dup-cutoff", type=int, default=80)
    group.add_argument("--dup-seed", type=int, default=20240501)


def duplicates_rows(args: argparse.Namespace) -> list[Row]:
    """``bench.duplicates``' phases on a PostgreSQL started here; its goals as rows."""
    from bench import duplicates as d
    from tests.servers import Postgres

    bench = "duplicates"
    with ExitStack() as stack:
        # Both measured processes were started by main() while this one was small: their
        # peak RSS (getrusage, which survives exec) is then their own.
        checker, scanner = args._dup_pools
        server = Postgres.start()
        stack.callback(server.stop)
        url = server.url
        timer = d.Timer()
        t = time.perf_counter()
        contacts = d.generate_contacts(args.dup_contacts, args.dup_seed)
        t = timer.lap(f"[duplicates] {len(contacts):,} contacts generated", t)
        d.build(url, contacts, args.dup_workers, timer)
        probes = d.make_probes(contacts, args.dup_submissions, args.dup_seed + 7)
        warmup = [p for p, _ in d.make_probes(contacts, 50, args.dup_seed + 11)]
        del contacts
        persons = [{k: v for k, v in p.items() if k != "_change"} for p, _ in probes]
        truth = [t for _, t in probes]
        step = max(1, len(probes) // max(1, args.dup_baseline_submissions))
        sample = list(range(0, len(probes), step))[: args.dup_baseline_submissions]
        t = time.perf_counter()
        checks = checker.apply(d.run_checks, (url, persons, warmup))
        t = timer.lap(f"[duplicates] {len(persons)} checks", t)
        base = scanner.apply(d.run_baseline, (url, [persons[i] for i in sample], args.dup_cutoff))
        timer.lap(f"[duplicates] {len(sample)} baseline scans", t)
    ours = d.quality(checks["results"], truth)
    theirs = d.quality(base["results"], [truth[i] for i in sample])
    lat = [x * 1000 for x in checks["latencies"]]
    base_lat = [x * 1000 for x in base["latencies"]]
    n = f"{args.dup_contacts:,} contacts"
    return [
        info(bench, f"check p50 (ms), {n}", d.percentile(lat, 50), d.percentile(base_lat, 50), 2),
        ratio_at_most(
            bench, "check p95 (ms)", d.percentile(lat, 95), d.percentile(base_lat, 95), 0.1, 2
        ),
        info(bench, "check p99 (ms)", d.percentile(lat, 99), d.percentile(base_lat, 99), 2),
        at_least(bench, "recall", ours["recall"], 0.98, baseline=theirs["recall"]),
        info(bench, "precision", ours["precision"], theirs["precision"], 3),
        info(
            bench, "peak RSS of the checking process (MiB)", checks["peak_rss"], base["peak_rss"], 0
        ),
    ]


# --------------------------------------------------------------------------- lists


def _add_lists_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lists (bench/lists.py)")
    group.add_argument("--lists-contacts", type=int, default=5_000, help="full size: 10000")
    group.add_argument("--lists-employers", type=int, default=250, help="full size: 500")
    group.add_argument("--lists-grants", type=int, default=100_000, help="full size: 200000")
    group.add_argument("--lists-calls", type=int, default=200)
    group.add_argument("--lists-warmup", type=int, default=20)
    group.add_argument("--lists-access-calls", type=int, default=1000)
    group.add_argument("--lists-seed", type=int, default=20240601)


def lists_rows(args: argparse.Namespace) -> list[Row]:
    """``bench.lists``' phases on a PostgreSQL started here; its goals as rows."""
    from bench import lists as li
    from bench.duplicates import Timer, percentile
    from tests.servers import Postgres

    bench = "lists"
    with ExitStack() as stack:
        server = Postgres.start()
        stack.callback(server.stop)
        url = server.url
        sizes = (args.lists_contacts, args.lists_employers, args.lists_grants)
        store = li.build(url, args.lists_seed, sizes, Timer())
        cookie = li.open_session(url, store.account_id)
        logdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-lists-"))
        service = li.gunicorn("catalogue_svc:create_app()", url, logdir, "service")
        stack.callback(service.stop)
        bare = li.gunicorn("bench.lists:bare_app()", url, logdir, "bare")
        stack.callback(bare.stop)
        calls = li.endpoints(store, args.lists_seed + 1)
        http = li.run_http(
            service.base, bare.base, cookie, calls, args.lists_calls, args.lists_warmup
        )
        got: Any = li.run_in_process(url, store, args.lists_access_calls, args.lists_seed + 2)
        # bench/lists.py now returns (timings, statements per call); it returned the timings.
        inproc: dict[str, list[float]] = got[0] if isinstance(got, tuple) else got
    b95 = percentile(http["bare"], 95)
    out = [
        info(
            bench,
            f"bare endpoint p95 (ms), {store.counts['grants']:,} grants",
            b95,
            digits=2,
        )
    ]
    for e in calls:
        if not e.bare:
            out.append(
                ratio_at_most(bench, f"{e.name} p95 (ms)", percentile(http[e.name], 95), b95, 5, 2)
            )
    out.append(
        at_most(
            bench,
            "access check in-process p95 (ms)",
            percentile(inproc["access"], 95),
            1,
            "ms",
            percentile(inproc["pk"], 95),
            3,
        )
    )
    return out


# --------------------------------------------------------------------------- the runner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks to run, among {', '.join(BENCHES)}"
    )
    parser.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
    submission.add_arguments(parser)
    imports.add_arguments(parser)
    _add_duplicates_arguments(parser)
    _add_lists_arguments(parser)
    parser.add_argument(
        "--pipeline-args",
        default="",
        help="options of bench/pipeline.py, as its own command line takes them (quoted)",
    )
    return parser


def pipeline_rows(args: argparse.Namespace) -> list[Row]:
    """``bench.pipeline.rows`` with its own options (``--pipeline-args``)."""
    return pipeline.rows(pipeline.parser().parse_args(shlex.split(args.pipeline_args)))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    args = _parser().parse_args(argv)
    chosen = set(args.only.split(",")) if args.only else set(BENCHES)
    chosen -= set(filter(None, args.skip.split(",")))
    unknown = chosen - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    stack = ExitStack()
    if "duplicates" in chosen:
        from bench.duplicates import fresh_process

        args._dup_pools = (fresh_process(stack), fresh_process(stack))
    with stack:
        return _run(args, chosen, argv)


def _run(
    args: argparse.Namespace,
    chosen: set[str],
    argv: list[str] | None,
) -> int:
    started = time.perf_counter()
    print(f"$ python -m bench.run {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print("\n".join(machine()), flush=True)

    runners: list[tuple[str, Callable[[argparse.Namespace], list[Row]]]] = [
        ("submission", submission.rows),
        ("memory", memory.rows),
        ("import", imports.rows),
        ("duplicates", duplicates_rows),
        ("lists", lists_rows),
        ("pipeline", pipeline_rows),
    ]
    table: list[Row] = []
    notes: list[str] = []
    for name, runner in runners:
        if name not in chosen:
            continue
        t = time.perf_counter()
        print(f"\n== {name} (load average {os.getloadavg()[0]:.2f})", flush=True)
        try:
            got: list[Any] = runner(args)
        except Exception:  # one broken benchmark must not hide the others
            traceback.print_exc()
            table.append(Row(name, "benchmark FAILED (traceback above)", math.nan))
            notes.append(f"{name}: failed after {time.perf_counter() - t:.0f} s")
            continue
        table.extend(got)
        notes.append(f"{name}: {time.perf_counter() - t:.0f} s")
    print()
    print("\n".join(machine()))
    print(f"durations: {'; '.join(notes)}; total {(time.perf_counter() - started) / 60:.1f} min")
    print()
    print_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
