"""The duplicate check against the store: which stored contacts may be a new person.

:func:`find_candidates` computes the probe's keys (:func:`.keys.contact_keys`), takes the contacts
sharing at least one of them (one indexed query), loads them with their phones (one query,
:func:`.people.load_people`) and scores them (:mod:`.matching`); it never reads a contact outside
the probe's blocks (PERFORMANCE.md, item 5). :func:`find_candidates_many` does the same for a
pipeline chunk's people at once. The cut-offs come from ``CATALOGUE_DUPLICATE_THRESHOLDS``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, func, select

from ..db import db
from . import matching
from .keys import contact_keys, reindex_all
from .matching import Candidate, Person, Thresholds
from .models import ContactMatchKey
from .people import CHUNK, chunks, load_people, person_from_dict

# reindex_all is handed on from .keys for ``flask reindex-duplicates`` (cli.py).
__all__ = [
    "BLOCK_CAP",
    "CONFIG_KEY",
    "find_candidates",
    "find_candidates_many",
    "install",
    "reindex_all",
    "thresholds_from",
]

CONFIG_KEY = "CATALOGUE_DUPLICATE_THRESHOLDS"
# Most contacts loaded for one check. Blocks are small (median 4 at 1,000,000 contacts); a probe
# named like thousands of others keeps the contacts sharing an exact key, then the most keys.
BLOCK_CAP = 2000
# Client number, email, phone: one shared key of these is evidence on its own.
_EXACT_PREFIXES = ("cn:", "em:", "ph:")

_KEYS = ContactMatchKey.__table__


def thresholds_from(config: Mapping[str, Any]) -> Thresholds:
    """The ``Thresholds`` of ``config[CATALOGUE_DUPLICATE_THRESHOLDS]`` (a dict or a JSON object
    of ``Thresholds`` fields); the defaults when absent. Unknown names are refused."""
    values = config.get(CONFIG_KEY) or {}
    if isinstance(values, str):
        values = json.loads(values)
    if not isinstance(values, Mapping):
        raise ValueError(f"{CONFIG_KEY} must be a mapping of Thresholds fields")
    known = {f.name for f in dataclasses.fields(Thresholds)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{CONFIG_KEY}: unknown threshold(s) {', '.join(unknown)}")
    return Thresholds(**{name: float(value) for name, value in values.items()})


def _block(keys: Iterable[str], cap: int) -> list[int]:
    """Ids of the contacts sharing a key: the holders of an exact key first, then by keys shared."""
    exact = case((func.substr(_KEYS.c.key, 1, 3).in_(_EXACT_PREFIXES), 1), else_=0)
    stmt = (
        select(_KEYS.c.contact_id)
        .where(_KEYS.c.key.in_(sorted(keys)))
        .group_by(_KEYS.c.contact_id)
        .order_by(func.max(exact).desc(), func.count().desc(), _KEYS.c.contact_id)
        .limit(cap)
    )
    return list(db.session.scalars(stmt))


def _as_dict(candidate: Candidate, person: Person) -> dict[str, Any]:
    return {
        "contact_id": candidate.contact_id,
        "score": round(candidate.score, 3),
        "level": candidate.level,
        "name": f"{person.first_name} {person.last_name}".strip(),
        "reasons": [dataclasses.asdict(reason) for reason in candidate.reasons],
    }


def find_candidates(
    person: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    limit: int = 10,
    *,
    block_cap: int = BLOCK_CAP,
) -> list[dict[str, Any]]:
    """Stored contacts that may be ``person``, best first, as JSON-ready dicts with their reasons.

    The owner of the client number given, when the names do not match, is always included
    (beyond ``limit`` if need be) with the ``client_number``/``mismatch`` reason.
    """
    t = thresholds if thresholds is not None else thresholds_from(current_app.config)
    probe = person_from_dict(person)
    keys = contact_keys(probe)
    if not keys:
        return []
    ids = _block(keys, block_cap)
    if not ids:
        return []
    return _ranked(probe, load_people(db.session(), ids), t, limit)


_FIND_CANDIDATES = find_candidates


def find_candidates_many(
    persons: Sequence[Mapping[str, Any]],
    thresholds: Thresholds | None = None,
    limit: int = 10,
    *,
    block_cap: int = BLOCK_CAP,
) -> list[list[dict[str, Any]]]:
    """:func:`find_candidates` of each person, in two queries for them all (a pipeline chunk).

    The stored keys of every probe come in one query and each probe's block is ranked here as
    :func:`_block` ranks it in SQL (an exact key first, then the most keys shared, then the
    id); the contacts of every block are loaded together.
    """
    t = thresholds if thresholds is not None else thresholds_from(current_app.config)
    probes = [person_from_dict(person) for person in persons]
    keys = [contact_keys(probe) for probe in probes]
    holders: dict[str, list[int]] = defaultdict(list)
    wanted = sorted(set().union(*keys)) if keys else []
    for start in range(0, len(wanted), CHUNK):
        rows = db.session.execute(
            select(_KEYS.c.key, _KEYS.c.contact_id).where(
                _KEYS.c.key.in_(wanted[start : start + CHUNK])
            )
        )
        for key, contact_id in rows:
            holders[key].append(contact_id)
    blocks: list[list[int]] = []
    for probe_keys in keys:
        shared: dict[int, list[int]] = {}
        for key in probe_keys:
            exact = 1 if key[:3] in _EXACT_PREFIXES else 0
            for contact_id in holders.get(key, ()):
                score = shared.setdefault(contact_id, [0, 0])
                score[0] = max(score[0], exact)
                score[1] += 1
        ranked = sorted(shared, key=lambda c: (-shared[c][0], -shared[c][1], c))
        blocks.append(ranked[:block_cap])
    everyone = sorted({c for block in blocks for c in block})
    people: dict[int, Person] = {}
    for ids in chunks(everyone, CHUNK):
        people.update(load_people(db.session(), ids))
    return [
        _ranked(probe, {c: people[c] for c in block if c in people}, t, limit) if block else []
        for probe, block in zip(probes, blocks, strict=True)
    ]


def _ranked(
    probe: Person, others: dict[int, Person], t: Thresholds, limit: int
) -> list[dict[str, Any]]:
    """The candidates among ``others`` (a probe's block), best first, as JSON-ready dicts."""
    ranked = matching.find_candidates(probe, others.values(), t, limit=len(others))
    chosen = ranked[: max(limit, 0)]
    shown = {c.contact_id for c in chosen}
    scored = {c.contact_id: c for c in ranked}
    for other in others.values():
        if other.contact_id in shown:
            continue
        reason = matching.client_number_mismatch(probe, other, t)
        if reason is not None:
            assert other.contact_id is not None
            chosen.append(
                scored.get(other.contact_id)
                or Candidate(other.contact_id, t.candidate, (reason,), "possible")
            )
    chosen.sort(key=lambda c: (-c.score, c.contact_id))
    return [_as_dict(c, others[c.contact_id]) for c in chosen]


def install(app: Flask) -> None:
    """Install the store-backed finders on ``app``; a misspelt threshold fails here."""
    thresholds_from(app.config)  # a misspelt threshold fails at start-up, not on a request
    app.extensions["catalogue_duplicate_finder"] = find_candidates
    # The batch finder answers as the single one does: it stands in for that one only (a
    # finder replaced later, or patched in before, is called person by person).
    if find_candidates is _FIND_CANDIDATES:
        app.extensions["catalogue_duplicate_finder_many"] = (find_candidates, find_candidates_many)
