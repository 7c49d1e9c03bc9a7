"""The exports, streamed: each one a generator of text chunks that reads one page of rows at a
time, so an export of 200,000 authorizations holds one page in memory, never the list.

The rows are the list endpoints' own items (``profiles.lists``, ``requests.reads``): the JSON
export is the API's JSON, and the CSV's columns are the screens' columns with their French
headers, ``;``-separated, in UTF-8 with a BOM (what spreadsheet software in fr-CA expects).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from ..access import ProfileAccess
from ..db import db
from ..profiles import lists
from ..requests.reads import RequestFilters, filtered, summary

PAGE = 500
BOM = "\ufeff"

Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _yes_no(value: Any) -> str:
    return "Oui" if value else "Non"


def _name(part: dict[str, Any] | None) -> str:
    return part["name"] if part else ""


# The screens' columns (catalogue_svc/portal/static/app.js), each with its French header.
COLUMNS: dict[str, list[Column]] = {
    "contacts": [
        ("Nom", lambda r: r["name"]),
        ("Adresse courriel", lambda r: r["email"] or ""),
        ("Relation", lambda r: r["relation_label"]),
        ("Date de début", lambda r: r["start_date"]),
        ("Date de fin", lambda r: r["end_date"]),
        ("Actif", lambda r: _yes_no(r["actif"])),
    ],
    "relations": [
        ("Organisation (cliente)", lambda r: r["organisation"]["name"]),
        ("Numéro de client", lambda r: r["organisation"]["client_number"]),
        ("Type de relation", lambda r: r["type_label"]),
        ("Organisation (en relation)", lambda r: r["related_organisation"]["name"]),
        ("Numéro de client (en relation)", lambda r: r["related_organisation"]["client_number"]),
        ("Date de début", lambda r: r["start_date"]),
        ("Date de fin", lambda r: r["end_date"]),
        ("Actif", lambda r: _yes_no(r["actif"])),
    ],
    "authorizations": [
        ("Sujet autorisé", lambda r: r["subject"]),
        ("Droit", lambda r: r["right_label"]),
        ("Organisation (titulaire du dossier)", lambda r: _name(r["organisation"])),
        ("Organisation (en relation)", lambda r: _name(r["related_organisation"])),
        ("Contact de l'organisation", lambda r: _name(r["contact"])),
        ("Fonction", lambda r: r["function"] or ""),
        ("Actif", lambda r: _yes_no(r["actif"])),
    ],
    "requests": [
        ("Numéro", lambda r: r["number"]),
        ("Formulaire", lambda r: r["title"]),
        ("État", lambda r: r["state_label"]),
        ("Soumise le", lambda r: r["submitted_at"]),
        ("Par", lambda r: r["submitted_by"]),
        ("Visible dans les listes", lambda r: r["visible_at"] or ""),
    ],
}


def _pages(fetch: Callable[[int], list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Every item of a paged list, one page read at a time."""
    page = 1
    while True:
        items = fetch(page)
        yield from items
        if len(items) < PAGE:
            return
        page += 1


def contacts(organisation_id: int, lang: str) -> Iterator[dict[str, Any]]:
    """*Contacts de l'organisation*, every page."""
    return _pages(
        lambda p: lists.contacts(organisation_id, page=p, per_page=PAGE, lang=lang)["items"]
    )


def relations(organisation_id: int, lang: str) -> Iterator[dict[str, Any]]:
    """*Relations de l'organisation*, every page."""
    return _pages(
        lambda p: lists.relations(organisation_id, page=p, per_page=PAGE, lang=lang)["items"]
    )


def authorizations(organisation_id: int, lang: str) -> Iterator[dict[str, Any]]:
    """*Autorisations*, in the list's order (the organisation's own grants, then each
    contact's), every row: streamed by ``lists.every_authorization``, past the list's count
    cap."""
    return lists.every_authorization(organisation_id, lang=lang)


def requests(access: ProfileAccess, filters: RequestFilters) -> Iterator[dict[str, Any]]:
    """The firm's requests the caller may read, filtered, newest first (by id pages)."""
    stmt = filtered(access, filters)
    page = 0
    while True:
        rows = db.session.scalars(stmt.offset(page * PAGE).limit(PAGE)).all()
        for row in rows:
            yield summary(row)
        db.session.expunge_all()  # the ORM's identity map would otherwise keep every request
        if len(rows) < PAGE:
            return
        page += 1


def as_csv(kind: str, items: Iterator[dict[str, Any]]) -> Iterator[str]:
    """The BOM and the header line, then about a page of rows per chunk."""
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([header for header, _ in columns])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, item in enumerate(items, start=1):
        writer.writerow([_cell(cell(item)) for _, cell in columns])
        if count % PAGE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> str:
    """A cell's text; a leading ``= + - @`` is quoted so a spreadsheet never runs it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_json(items: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array of the API's items, written as it is read."""
    yield "["
    for index, item in enumerate(items):
        yield ("," if index else "") + json.dumps(item, ensure_ascii=False)
    yield "]"
