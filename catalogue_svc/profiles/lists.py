"""*Relations et autorisations*: the three lists as propagated (*Contacts de l'organisation*,
*Relations de l'organisation*, *Autorisations*), and the operator's ``propagate-now``.

A row shows from its ``visible_at``; it shows *Actif: Faux* from its ``end_visible_at``. Both are
compared with the service clock, so the lists follow the propagation delay without any timer.
The statements are built once in :mod:`.list_sql`; one contact of the first list is
:mod:`.detail`, *Mes dossiers autorisés* is :mod:`.dossiers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from ..clock import now
from ..db import db
from .list_sql import authorization_statements, contacts_statements, relations_statements
from .models import (
    CONTACT_RELATION_LABELS,
    ORGANISATION_RELATION_LABELS,
    RIGHT_LABELS,
    ContactRelation,
    Grant,
    OrganisationRelation,
)

# Past this many grants the contacts' part of *Autorisations* is counted no further: its total is
# then a lower bound (``total_exact`` false).
COUNT_CAP = 10_000
STREAM_ROWS = 500  # rows an export reads at a time


def label(labels: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    """The label of ``code`` in ``lang`` (French unless "en"); the code itself when unknown."""
    pair = labels.get(code)
    return code if pair is None else pair[0 if lang == "fr" else 1]


def _params(organisation_id: int, at: Any, **more: Any) -> dict[str, Any]:
    """The bind parameters every list statement takes."""
    return {"organisation_id": organisation_id, "at": at, **more}


def _counted_page(
    count: Any, page_stmt: Any, params: dict[str, Any], page: int, per_page: int
) -> tuple[int, Sequence[Any]]:
    """The total and the rows of a page, in one round trip when the page has rows.

    ``page_stmt`` carries ``count`` as the column ``total``, an uncorrelated scalar subquery
    that the database computes once; only an empty page after the first counts on its own.
    """
    window = {"offset": (page - 1) * per_page, "limit": per_page}
    rows = db.session.execute(page_stmt, {**params, **window}).all()
    if rows:
        return int(rows[0].total), rows
    return (int(db.session.execute(count, params).scalar() or 0) if page > 1 else 0), []


def contacts(organisation_id: int, *, page: int, per_page: int, lang: str = "fr") -> dict[str, Any]:
    """*Contacts de l'organisation*: name, relation, start and end dates, *Actif*."""
    total, rows = _counted_page(
        *contacts_statements(), _params(organisation_id, now()), page, per_page
    )
    items = [
        {
            "contact_id": row.contact_id,
            "relation_id": row.relation_id,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "name": f"{row.first_name} {row.last_name}",  # Contact.full_name
            "email": row.email,
            "relation": row.type,
            "relation_label": label(CONTACT_RELATION_LABELS, row.type, lang),
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "actif": bool(row.actif),
        }
        for row in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def relations(
    organisation_id: int, *, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Relations de l'organisation*: organisation, type of relation, organisation, *Actif*."""
    total, rows = _counted_page(
        *relations_statements(), _params(organisation_id, now()), page, per_page
    )
    items = [
        {
            "relation_id": row.id,
            "organisation": {
                "id": row.left_id,
                "name": row.left_name,
                "client_number": row.left_client_number,
            },
            "type": row.type,
            "type_label": label(ORGANISATION_RELATION_LABELS, row.type, lang),
            "related_organisation": {
                "id": row.right_id,
                "name": row.right_name,
                "client_number": row.right_client_number,
            },
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "actif": bool(row.actif),
        }
        for row in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _own_window(counts: list[Any], start: int, end: int) -> tuple[list[int], int]:
    """The subjects whose own grants rows ``start``..``end`` of the own part fall in, and how
    many rows of the own part come before the first of them.

    ``counts``: (name_fr, subject_id, shown) in the list's order. Subjects of the same name
    sort their grants together, so they are taken (or left) together.
    """
    groups: list[tuple[str, list[int], int]] = []
    for row in counts:
        if groups and groups[-1][0] == row.name_fr:
            name, ids, shown = groups[-1]
            groups[-1] = (name, [*ids, row.subject_id], shown + row.shown)
        else:
            groups.append((row.name_fr, [row.subject_id], row.shown))
    spanned: list[int] = []
    before = skipped = 0
    for _, ids, shown in groups:
        if before + shown > start and before < end:
            if not spanned:
                skipped = before
            spanned += ids
        before += shown
    return spanned, skipped


def _functions(relation_ids: set[int]) -> dict[int, str]:
    """The type of each contact relation named (none for a page of the firm's own grants)."""
    if not relation_ids:
        return {}
    r = ContactRelation.__table__
    rows = db.session.execute(select(r.c.id, r.c.type).where(r.c.id.in_(relation_ids)))
    return {row.id: row.type for row in rows}


def _authorization(
    row: Any, member: bool, firm: tuple[int, str | None], functions: dict[int, str], lang: str
) -> dict[str, Any]:
    """One row of *Autorisations* as the API gives it (``member``: held by a contact)."""
    organisation_id, firm_name = firm
    name = row.name_fr if lang == "fr" else row.name_en
    function = row.function if member else functions.get(row.contact_relation_id)
    return {
        "grant_id": row.id,
        "subject": f"{name} - {row.owner_name}",
        "subject_code": row.code,
        "right": row.access_right,
        "right_label": label(RIGHT_LABELS, row.access_right, lang),
        "organisation": {"id": row.owner_id, "name": row.owner_name},
        # The other organisation: the holder of an own grant, or the one through which a
        # contact holds it; both are the firm.
        "related_organisation": (
            {"id": organisation_id, "name": firm_name}
            if firm_name is not None and organisation_id != row.owner_id
            else None
        ),
        "contact": (
            {"id": row.contact_id, "name": f"{row.first_name} {row.last_name}"} if member else None
        ),
        "function": (
            label(CONTACT_RELATION_LABELS, function, lang) if function is not None else None
        ),
        "actif": bool(row.actif),
    }


# A LIMIT no export reaches: the exports read each part whole, in the list's order.
_NO_LIMIT = 2**31 - 1  # the LIMIT is bound as a 32-bit integer


def every_authorization(organisation_id: int, *, lang: str = "fr") -> Iterator[dict[str, Any]]:
    """Every row of *Autorisations* in the list's order, streamed for the exports: the page
    statements run once each, whole (no count cap, no offset), read ``STREAM_ROWS`` rows at a
    time (a server-side cursor on PostgreSQL), so memory holds one batch whatever the size."""
    counts, own_page, members_page = authorization_statements(False, db.engine.dialect.name)
    params = _params(organisation_id, now(), cap=COUNT_CAP + 1)
    counted = db.session.execute(counts, params).all()
    firm = (organisation_id, counted[0].firm_name)
    own = [row for row in counted if row.subject_id is not None]
    streamed = {"stream_results": True, "yield_per": STREAM_ROWS}
    if own:
        window = {"subject_ids": [r.subject_id for r in own], "offset": 0, "limit": _NO_LIMIT}
        result = db.session.execute(own_page, {**params, **window}, execution_options=streamed)
        for batch in result.partitions():
            functions = _functions({r.contact_relation_id for r in batch} - {None})
            for row in batch:
                yield _authorization(row, False, firm, functions, lang)
    window = {"offset": 0, "limit": _NO_LIMIT}
    result = db.session.execute(members_page, {**params, **window}, execution_options=streamed)
    for batch in result.partitions():
        for row in batch:
            yield _authorization(row, True, firm, {}, lang)


def authorizations(
    organisation_id: int, *, contact_id: int | None, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Autorisations*: the organisation's own subjects first, then its contacts'.

    Two parts, each counted and paged on its own: the organisation's own grants (ordered by
    subject and owner), then its contacts' (by contact name, subject and owner); a page takes
    from the first, then from the second. A grant has one holder (organisation or contact), so
    the parts are disjoint, and the order is the one of a single query sorted by part first.
    """
    filtered = contact_id is not None
    counts, own_page, members_page = authorization_statements(filtered, db.engine.dialect.name)
    params = _params(organisation_id, now(), cap=COUNT_CAP + 1)
    start, end = (page - 1) * per_page, page * per_page
    rows: list[tuple[Any, bool]] = []  # (row, held by a contact)
    functions: dict[int, str] = {}
    if filtered:
        params["contact_id"] = contact_id
        window = {"offset": start, "limit": per_page}
        members_rows = db.session.execute(members_page, {**params, **window}).all()
        head = members_rows[0] if members_rows else db.session.execute(counts, params).one()
        own_total, members_total = 0, int(head.members)
        total = min(members_total, COUNT_CAP)
        if start < total:
            rows += [(row, True) for row in members_rows]
    else:
        counted = db.session.execute(counts, params).all()
        head = counted[0]
        own_counts = [row for row in counted if row.subject_id is not None]
        own_total = sum(row.shown for row in own_counts)
        members_total = int(head.members)
        total = own_total + min(members_total, COUNT_CAP)
        if start < own_total:
            subject_ids, skipped = _own_window(own_counts, start, end)
            own_rows = db.session.execute(
                own_page,
                {
                    **params,
                    "subject_ids": subject_ids,
                    "offset": start - skipped,
                    "limit": min(end, own_total) - start,
                },
            ).all()
            functions = _functions({r.contact_relation_id for r in own_rows} - {None})
            rows += [(row, False) for row in own_rows]
        if end > own_total and start < total:
            first = max(start, own_total)
            members_rows = db.session.execute(
                members_page, {**params, "offset": first - own_total, "limit": end - first}
            ).all()
            rows += [(row, True) for row in members_rows]
    exact = members_total <= COUNT_CAP
    firm = (organisation_id, head.firm_name)
    items = [_authorization(row, member, firm, functions, lang) for row, member in rows]
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_exact": exact,
    }


def propagate_now() -> int:
    """Make every pending change visible in the lists now (operator command); rows touched."""
    from sqlalchemy import update

    from ..requests.models import Request

    at = now()
    touched = 0
    for model in (ContactRelation, OrganisationRelation, Grant):
        for column in (model.visible_at, model.end_visible_at):
            touched += db.session.execute(
                update(model)
                .where(column > at)
                .values({column: at})
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
    db.session.execute(
        update(Request)
        .where(Request.visible_at > at)
        .values(visible_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return touched
