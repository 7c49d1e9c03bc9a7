"""The key table ``contact_match_keys`` (:class:`.models.ContactMatchKey`): every contact's
blocking keys (:func:`.blocking.blocking_keys`), kept up to date with the contacts.

They are kept up to date by a session ``after_flush`` listener (:func:`listen`) for every contact
or phone created, changed or removed **through the ORM**. Core statements
(``insert(Contact.__table__)``, ``update(...)``, the bulk import) bypass the ORM: whoever writes
contacts that way must call :func:`refresh_keys` with their ids in the same transaction, or run
``flask reindex-duplicates`` (:func:`reindex_all`) afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, event, func, insert, inspect, select
from sqlalchemy.orm import InstanceState, Session

from ..db import db
from ..profiles.models import Contact, ContactPhone
from .blocking import blocking_keys, same_name_key
from .matching import Person
from .models import KEY_LENGTH, ContactMatchKey
from .people import CHUNK, chunks, load_people, person_of

__all__ = ["contact_keys", "listen", "name_key", "refresh_keys", "reindex_all"]

_KEY_FIELDS = ("first_name", "last_name", "birth_date", "email", "client_number")

_KEYS = ContactMatchKey.__table__
_CONTACTS = Contact.__table__

_DELETE_ONE = delete(_KEYS).where(
    _KEYS.c.key == bindparam("k"), _KEYS.c.contact_id == bindparam("c")
)


def contact_keys(person: Person) -> set[str]:
    """The keys stored for ``person`` and looked up for a probe: ``blocking.blocking_keys``,
    cut to the column's length (the same cut on both sides, so a long key still matches)."""
    keys = blocking_keys(person)
    if keys and max(map(len, keys)) > KEY_LENGTH:
        return {key[:KEY_LENGTH] for key in keys}
    return keys


def name_key(person: Person) -> str | None:
    """:func:`.blocking.same_name_key` as stored (cut as :func:`contact_keys` cuts it)."""
    key = same_name_key(person)
    return None if key is None else key[:KEY_LENGTH]


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
    for chunk in chunks(ids, CHUNK):
        people = load_people(connection, chunk)
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
    """Rebuild the keys of every contact, one transaction per ``batch``, then remove the keys
    of no contact; returns how many contacts.

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
    # The table has no foreign key (see the model): a key naming no contact goes too.
    contact = select(_CONTACTS.c.id).where(_CONTACTS.c.id == _KEYS.c.contact_id)
    db.session.execute(delete(_KEYS).where(~contact.exists()))
    db.session.commit()
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
            for key in contact_keys(person_of(contact))
        )
        if rows:
            session.connection().execute(
                insert(_KEYS), [{"key": k, "contact_id": c} for k, c in rows]
            )
    if ids - set(new):
        _replace_keys(session.connection(), ids - set(new))


def listen() -> None:
    """Keep the keys up to date on every flush of Flask-SQLAlchemy's session."""
    # The listener is on Flask-SQLAlchemy's session class, shared by every app: install it once.
    if not event.contains(db.session, "after_flush", _after_flush):
        event.listen(db.session, "after_flush", _after_flush)
