"""People as the duplicate check reads them: from a form's dict (the probe) or from the store.

A stored phone becomes the one string :func:`.normalise.normalize_phone` reads; a contact is read
back with its phones in one query (:func:`load_people`), or from its object in a flush
(:func:`person_of`), so that the keys and the scores see the same :class:`.matching.Person`
whichever way it came.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Session

from ..profiles.models import Contact, ContactPhone
from .matching import Person

__all__ = [
    "CHUNK",
    "Executor",
    "chunks",
    "load_people",
    "person_from_dict",
    "person_of",
    "stored_phone",
    "stored_phones",
]

# Ids per ``IN (…)``: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
CHUNK = 2000

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

Executor = Session | Connection


def stored_phone(country_code: str | None, number: str | None) -> str | None:
    """The stored phone as one string ``normalize_phone`` reads ("+1 514 555-0101")."""
    if not number or not number.strip():
        return None
    number = number.strip()
    return number if number.startswith("+") else f"{country_code or '+1'} {number}"


def stored_phones(phones: Iterable[tuple[str | None, str | None]]) -> tuple[str, ...]:
    """The stored phones ``(country_code, number)`` as the strings a :class:`Person` holds
    (what :func:`load_people` reads back)."""
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


def chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """``ids`` cut into lists of ``size`` (one ``IN (…)`` each)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def load_people(executor: Executor, contact_ids: Sequence[int]) -> dict[int, Person]:
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


def person_of(contact: Contact) -> Person:
    """The probe of a contact object, as :func:`load_people` reads it from its row."""
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
