"""Duplicate detection against the store: the upkeep of the key table and the candidate query.

The pure part is :mod:`.normalise`, :mod:`.blocking` (the keys) and :mod:`.matching` (the
scores). Here:

* every contact's blocking keys live in ``contact_match_keys`` (:class:`.models.ContactMatchKey`);
  they are kept up to date by a session ``after_flush`` listener for every contact or phone
  created, changed or removed **through the ORM**. Core statements (``insert(Contact.__table__)``,
  ``update(...)``, the bulk import) bypass the ORM: whoever writes contacts that way must call
  :func:`refresh_keys` with their ids in the same transaction, or run ``flask reindex-duplicates``
  afterwards;
* :func:`find_candidates` computes the probe's keys, takes the contacts sharing at least one of
  them (one indexed query), loads them with their phones (one query) and scores them; it never
  reads a contact outside the probe's blocks (PERFORMANCE.md, item 5).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, bindparam, case, delete, event, func, insert, inspect, select
from sqlalchemy.orm import InstanceState, Session

from ..db import db
from ..profiles.models import Contact, ContactPhone
from . import matching
from .blocking import blocking_keys
from .matching import Candidate, Person, Thresholds
from .models import KEY_LENGTH, ContactMatchKey
from .normalise import normalize_name

__all__ = [
    "BLOCK_CAP",
    "CONFIG_KEY",
    "contact_keys",
    "find_candidates",
    "find_candidates_many",
    "init_app",
    "person_from_dict",
    "refresh_keys",
    "reindex_all",
    "stored_phone",
    "stored_phones",
    "thresholds_from",
]

CONFIG_KEY = "CATALOGUE_DUPLICATE_THRESHOLDS"
# Most contacts loaded for one check. Blocks are small (median 4 at 1,000,000 contacts); a probe
# named like thousands of others keeps the contacts sharing an exact key, then the most keys.
BLOCK_CAP = 2000
# Ids per ``IN (…)``: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
CHUNK = 2000
# Client number, email, phone: one shared key of these is evidence on its own.
_EXACT_PREFIXES = ("cn:", "em:", "ph:")
_KEY_FIELDS = ("first_name", "last_name", "birth_date", "email", "client_number")

_KEYS = ContactMatchKey.__table__
_CONTACTS = Contact.__table__
_PHONES = ContactPhone.__table__
_PEOPLE = select(
    _CONTACTS.c.id,
    _CONTACTS.c.first_name,
    _CONTACTS.c.last_name,
    _CONTACTS.c.birth_date,
    _CONTACTS.c.email,
    _CONTACTS.c.client_number,
    _PHONES.c.country_code,
    _PHONES.c.number,
).select_from(_CONTACTS.outerjoin(_PHONES, _PHONES.c.contact_id == _CONTACTS.c.id))

_DELETE_ONE = delete(_KEYS).where(
    _KEYS.c.key == bindparam("k"), _KEYS.c.contact_id == bindparam("c")
)

Executor = Session | Connection


# --------------------------------------------------------------------------- persons


def stored_phone(country_code: str | None, number: str | None) -> str | None:
    """The stored phone as one string ``normalize_phone`` reads ("+1 514 555-0101")."""
    if not number or not number.strip():
        return None
    number = number.strip()
    return number if number.startswith("+") else f"{country_code or '+1'} {number}"


def stored_phones(phones: Iterable[tuple[str | None, str | None]]) -> tuple[str, ...]:
    """The stored phones ``(country_code, number)`` as the strings a :class:`Person` holds
    (what :func:`_load_people` reads back)."""
    return tuple(
        text for country, number in phones if (text := stored_phone(country, number)) is not None
    )


def person_from_dict(person: Mapping[str, Any]) -> Person:
    """The probe from the forms' dict ``{first_name, last_name, birth_date, email, phones,
    client_number}`` (phones as E.164 strings or as ``{country_code, number}`` dicts)."""
    born = person.get("birth_date")
    if isinstance(born, str):
        born = dt.date.fromisoformat(born) if born.strip() else None
    elif isinstance(born, dt.datetime):
        born = born.date()
    phones: list[str] = []
    for phone in person.get("phones") or ():
        text = (
            stored_phone(phone.get("country_code"), phone.get("number"))
            if isinstance(phone, Mapping)
            else (str(phone) if phone else None)
        )
        if text:
            phones.append(text)
    client_number = person.get("client_number")
    return Person(
        first_name=str(person.get("first_name") or ""),
        last_name=str(person.get("last_name") or ""),
        birth_date=born,
        email=person.get("email") or None,
        phones=tuple(phones),
        client_number=str(client_number) if client_number else None,
    )


def contact_keys(person: Person) -> set[str]:
    """The keys stored for ``person`` and looked up for a probe: ``blocking.blocking_keys``,
    cut to the column's length (the same cut on both sides, so a long key still matches)."""
    keys = blocking_keys(person)
    if keys and max(map(len, keys)) > KEY_LENGTH:
        return {key[:KEY_LENGTH] for key in keys}
    return keys


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _load_people(executor: Executor, contact_ids: Sequence[int]) -> dict[int, Person]:
    """The contacts ``contact_ids`` with their phones, in one query."""
    fields: dict[int, tuple[Any, ...]] = {}
    phones: dict[int, list[str]] = defaultdict(list)
    rows = executor.execute(_PEOPLE.where(_CONTACTS.c.id.in_(contact_ids)))
    for contact_id, first, last, born, email, client_number, country_code, number in rows:
        fields.setdefault(contact_id, (first, last, born, email, client_number))
        phone = stored_phone(country_code, number)
        if phone is not None:
            phones[contact_id].append(phone)
    return {
        contact_id: Person(
            first or "",
            last or "",
            born,
            email,
            tuple(phones.get(contact_id, ())),
            client_number,
            contact_id,
        )
        for contact_id, (first, last, born, email, client_number) in fields.items()
    }


# --------------------------------------------------------------------------- the key table


def _replace_keys(connection: Connection, contact_ids: Iterable[int]) -> int:
    """Make the stored keys of ``contact_ids`` what their rows call for, on ``connection``;
    returns the number of keys written.

    Only the difference is written: most refreshes (a phone added, a reindex after a repair)
    change a few keys of each contact, and rewriting unchanged rows of the key index is what
    costs. When most keys change (new contacts, a new key rule), one delete by contact clears
    them all instead.
    """
    ids = sorted({int(i) for i in contact_ids if i is not None})
    written = 0
    for chunk in _chunks(ids, CHUNK):
        people = _load_people(connection, chunk)
        wanted = {
            (key, contact_id)
            for contact_id, person in people.items()
            for key in contact_keys(person)
        }
        query = select(_KEYS.c.key, _KEYS.c.contact_id).where(_KEYS.c.contact_id.in_(chunk))
        # Plain tuples: comparing SQLAlchemy rows in a set is ten times slower.
        stored = {(key, contact_id) for key, contact_id in connection.execute(query).all()}
        stale = stored - wanted
        if len(stale) * 2 > len(stored):
            connection.execute(delete(_KEYS).where(_KEYS.c.contact_id.in_(chunk)))
            new = wanted
        else:
            if stale:
                connection.execute(_DELETE_ONE, [{"k": k, "c": c} for k, c in sorted(stale)])
            new = wanted - stored
        if new:
            # In key order, the inserts walk the key index from one page to the next.
            rows = [{"key": k, "contact_id": c} for k, c in sorted(new)]
            connection.execute(insert(_KEYS), rows)
        written += len(new)
    return written


def refresh_keys(contact_ids: Iterable[int]) -> None:
    """Recompute and replace the keys of these contacts in the caller's transaction."""
    ids = list(contact_ids)
    if ids:
        db.session.flush()
        _replace_keys(db.session.connection(), ids)


def reindex_all(batch: int = 5000, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the keys of every contact, one transaction per ``batch``; returns how many contacts.

    ``progress(done, total)`` is called after each batch. Keys of contacts created meanwhile are
    kept up to date by the listener or their writer, so batches can commit one by one.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    total = db.session.scalar(select(func.count()).select_from(_CONTACTS)) or 0
    done, last = 0, 0
    while True:
        ids = list(
            db.session.scalars(
                select(_CONTACTS.c.id)
                .where(_CONTACTS.c.id > last)
                .order_by(_CONTACTS.c.id)
                .limit(batch)
            )
        )
        if not ids:
            break
        _replace_keys(db.session.connection(), ids)
        db.session.commit()
        done, last = done + len(ids), ids[-1]
        if progress is not None:
            progress(done, max(total, done))
    return done


def _phone_owner_ids(phone: ContactPhone) -> set[int]:
    """Every contact a phone belongs or belonged to in this flush (no SQL emitted)."""
    state: InstanceState[ContactPhone] = inspect(phone)
    owners: set[int] = set()
    column = state.attrs.contact_id.history
    owners.update(v for v in (*column.added, *column.unchanged, *column.deleted) if v is not None)
    relation = state.attrs.contact.history
    for contact in (*relation.added, *relation.unchanged, *relation.deleted):
        if contact is not None and contact.id is not None:
            owners.add(contact.id)
    return owners


def _touched_contact_ids(session: Session) -> set[int]:
    """Contacts whose keys this flush changes: new ones, a name/birth date/email/client number
    changed, a phone added, changed or removed."""
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Contact):
            ids.add(obj.id)
        elif isinstance(obj, ContactPhone):
            ids.update(_phone_owner_ids(obj))
    for obj in session.dirty:
        if isinstance(obj, Contact):
            state: InstanceState[Contact] = inspect(obj)
            attrs = state.attrs
            if any(attrs[name].history.has_changes() for name in _KEY_FIELDS):
                ids.add(obj.id)
        elif isinstance(obj, ContactPhone):
            ids.update(_phone_owner_ids(obj))
    for obj in session.deleted:
        if isinstance(obj, ContactPhone):
            ids.update(_phone_owner_ids(obj))
    # A deleted contact's keys go with it (ON DELETE CASCADE).
    ids.difference_update(obj.id for obj in session.deleted if isinstance(obj, Contact))
    return ids


def _after_flush(session: Session, flush_context: Any) -> None:
    """Refresh the keys of the contacts this flush wrote, in the flush's transaction.

    A contact this flush inserted has no key yet and its values are in memory: its keys are
    computed from the object and inserted, without reading it back (a batch of new people is
    one insert). The others are refreshed from their rows."""
    ids = _touched_contact_ids(session)
    if not ids:
        return
    # A new contact whose phones collection was never touched has no phone, unless one was
    # written apart from it (by its ``contact_id``): that contact is read back instead.
    apart: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ContactPhone):
            apart.update(_phone_owner_ids(obj))
    new = {
        obj.id: obj
        for obj in session.new
        if isinstance(obj, Contact)
        and obj.id in ids
        and ("phones" in inspect(obj).dict or obj.id not in apart)
    }
    if new:
        rows = sorted(
            (key, contact_id)
            for contact_id, contact in new.items()
            for key in contact_keys(_person_of(contact))
        )
        if rows:
            session.connection().execute(
                insert(_KEYS), [{"key": k, "contact_id": c} for k, c in rows]
            )
    if ids - set(new):
        _replace_keys(session.connection(), ids - set(new))


def _person_of(contact: Contact) -> Person:
    """The probe of a contact object, as :func:`_load_people` reads it from its row."""
    phones: list[ContactPhone] = inspect(contact).dict.get("phones", [])
    return Person(
        contact.first_name or "",
        contact.last_name or "",
        contact.birth_date,
        contact.email,
        tuple(
            phone for p in phones if (phone := stored_phone(p.country_code, p.number)) is not None
        ),
        contact.client_number,
        contact.id,
    )


# --------------------------------------------------------------------------- the check


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
    return _ranked(probe, _load_people(db.session(), ids), t, limit)


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
    for ids in _chunks(everyone, CHUNK):
        people.update(_load_people(db.session(), ids))
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


def init_app(app: Flask) -> None:
    """Install the store-backed finder, the key upkeep on flush and ``reindex-duplicates``."""
    from .cli import reindex_duplicates_command

    thresholds_from(app.config)  # a misspelt threshold fails at start-up, not on a request
    app.extensions["catalogue_duplicate_finder"] = find_candidates
    # The batch finder answers as the single one does: it stands in for that one only (a
    # finder replaced later, or patched in before, is called person by person).
    if find_candidates is _FIND_CANDIDATES:
        app.extensions["catalogue_duplicate_finder_many"] = (find_candidates, find_candidates_many)
    app.cli.add_command(reindex_duplicates_command)
    # The listener is on Flask-SQLAlchemy's session class, shared by every app: install it once.
    if not event.contains(db.session, "after_flush", _after_flush):
        event.listen(db.session, "after_flush", _after_flush)


SAME_MEMBER_REASON = "Même prénom et même nom qu'un membre actif de l'organisation."


def active_member_names(organisation_id: int) -> list[tuple[int, str, str]]:
    """(id, first name, last name) of the contacts with an active relation to the organisation."""
    from ..profiles.models import ContactRelation

    relations = ContactRelation.__table__
    rows = db.session.execute(
        select(_CONTACTS.c.id, _CONTACTS.c.first_name, _CONTACTS.c.last_name)
        .select_from(_CONTACTS.join(relations, relations.c.contact_id == _CONTACTS.c.id))
        .where(relations.c.organisation_id == organisation_id, relations.c.active.is_(True))
        .distinct()
    ).all()
    return [(int(i), first or "", last or "") for i, first, last in rows]


def with_same_name_members(
    members: Iterable[tuple[int, str, str]],
    person: Mapping[str, Any],
    candidates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """``candidates`` completed by the ``members`` (:func:`active_member_names` of the
    organisation) named as ``person`` is.

    Whatever the client numbers or birth dates say, two people of one firm with the same first
    and last name are at least a *possible* duplicate: an agent looks before a second one is
    created (names compared after ``normalise.normalize_name``: accents, case and hyphens apart).
    """
    first = normalize_name(str(person.get("first_name") or ""))
    last = normalize_name(str(person.get("last_name") or ""))
    if not first or not last:
        return candidates
    result = [dict(c) for c in candidates]
    by_id = {c.get("contact_id"): c for c in result}
    threshold = thresholds_from(current_app.config).candidate
    added = False
    for contact_id, first_name, last_name in members:
        if normalize_name(first_name) != first or normalize_name(last_name) != last:
            continue
        reason = {
            "field": "name",
            "kind": "same_member",
            "detail": SAME_MEMBER_REASON,
            "score": None,
        }
        entry = by_id.get(contact_id)
        if entry is not None:
            if all(r.get("kind") != "same_member" for r in entry.get("reasons") or []):
                entry["reasons"] = [*(entry.get("reasons") or []), reason]
            continue
        added = True
        result.append(
            {
                "contact_id": contact_id,
                "score": round(threshold, 3),
                "level": "possible",
                "name": f"{first_name} {last_name}".strip(),
                "reasons": [reason],
            }
        )
    if added:
        result.sort(key=lambda c: (-float(c.get("score") or 0), c.get("contact_id") or 0))
    return result
