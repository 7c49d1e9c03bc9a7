"""The one table every benchmark feeds: figure, value, baseline, ratio, goal, met?

Each bench module returns a list of :class:`Row` from ``rows(args)``; ``bench/run.py`` prints
them all in one table. A row's goal is either a ratio to the baseline measured in the same run
(``ratio_at_least``/``ratio_at_most``) or an absolute bound (``at_most``); a row without a goal
is there to read the others.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure of one benchmark, beside its baseline (same run) and its goal."""

    bench: str  # the benchmark's name: "submission", "import", "memory"…
    figure: str  # what is measured, with its unit: "requests/s", "p99 (ms)"
    value: float
    baseline: float = math.nan  # NaN: no baseline
    goal: str = ""  # in words: "≥ 0.5× baseline", "≤ 50 ms"; empty: no goal
    met: bool | None = None  # None: no goal
    digits: int = 1

    @property
    def ratio(self) -> float:
        """value / baseline (NaN when either is missing)."""
        if math.isnan(self.baseline) or math.isnan(self.value) or self.baseline == 0:
            return math.nan
        return self.value / self.baseline


def ratio_at_least(
    bench: str, figure: str, value: float, baseline: float, minimum: float, digits: int = 1
) -> Row:
    """Goal: value ≥ ``minimum`` × baseline."""
    met = None if math.isnan(value) or math.isnan(baseline) else value >= minimum * baseline
    return Row(bench, figure, value, baseline, f"≥ {minimum:g}× baseline", met, digits)


def ratio_at_most(
    bench: str, figure: str, value: float, baseline: float, maximum: float, digits: int = 1
) -> Row:
    """Goal: value ≤ ``maximum`` × baseline."""
    met = None if math.isnan(value) or math.isnan(baseline) else value <= maximum * baseline
    return Row(bench, figure, value, baseline, f"≤ {maximum:g}× baseline", met, digits)


def at_most(
    bench: str,
    figure: str,
    value: float,
    limit: float,
    unit: str,
    baseline: float = math.nan,
    digits: int = 1,
) -> Row:
    """Goal: value ≤ ``limit`` (an absolute bound, in ``unit``)."""
    met = None if math.isnan(value) else value <= limit
    return Row(bench, figure, value, baseline, f"≤ {limit:g} {unit}", met, digits)


def at_least(
    bench: str,
    figure: str,
    value: float,
    limit: float,
    unit: str = "",
    baseline: float = math.nan,
    digits: int = 3,
) -> Row:
    """Goal: value ≥ ``limit`` (an absolute bound)."""
    met = None if math.isnan(value) else value >= limit
    return Row(
        bench, figure, value, baseline, f"≥ {limit:g}{' ' + unit if unit else ''}", met, digits
    )


def info(bench: str, figure: str, value: float, baseline: float = math.nan, digits: int = 1) -> Row:
    """A figure without a goal, to read the others."""
    return Row(bench, figure, value, baseline, "", None, digits)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _fmt(value: float, digits: int) -> str:
    return "—" if math.isnan(value) else f"{value:,.{digits}f}"


def render(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table."""
    header = ("bench", "figure", "value", "baseline", "ratio", "goal", "met?")
    body = [
        (
            r.bench,
            r.figure,
            _fmt(r.value, r.digits),
            _fmt(r.baseline, r.digits),
            "—" if math.isnan(r.ratio) else f"{r.ratio:.2f}×",
            r.goal or "—",
            "—" if r.met is None else ("yes" if r.met else "**NO**"),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(header)]
    right = {2, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "| " + " | ".join(
        ("-" * (w - 1) + ":") if i in right else "-" * w for i, w in enumerate(widths)
    )
    return "\n".join([line(header), rule + " |", *(line(b) for b in body)])


def print_table(rows: Sequence[Row]) -> None:
    """Print the rows as one Markdown table, and a line counting the goals met."""
    print(render(rows))
    goals = [r for r in rows if r.met is not None]
    print(f"\ngoals met: {sum(bool(r.met) for r in goals)}/{len(goals)}")


def _version(command: Sequence[str]) -> str:
    if not shutil.which(command[0]):
        return "absent"
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def machine() -> list[str]:
    """Lines describing the machine: CPU, memory, load, versions of what the benches run."""
    from importlib import metadata

    model = platform.processor() or "?"
    memory = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
        with open("/proc/meminfo") as f:
            kib = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    from tests.servers import PG_BIN

    packages = []
    for name in ("flask", "sqlalchemy", "psycopg", "gunicorn", "rq", "redis", "argon2-cffi"):
        try:
            packages.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            packages.append(f"{name} absent")
    return [
        f"machine: nproc {os.cpu_count()}, {model}, {memory} RAM, "
        f"load average {os.getloadavg()[0]:.2f}",
        f"software: Python {platform.python_version()}, {', '.join(packages)}",
        f"servers: {_version([str(PG_BIN / 'postgres'), '--version'])}; "
        f"{_version(['redis-server', '--version'])}",
    ]
