"""What both phases of an import share: the database as the import reads it (:class:`Snapshot`,
one query a table), the validated rows handed to the apply phase (:class:`Row`, :class:`Plan`),
and the keys and column lists both phases compare by."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from forms.fields import normalise_client_number

from ..db import db
from ..linking.models import LegacyCredential
from ..notifications.models import Email
from ..profiles.models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationKind,
    OrganisationRelation,
    OrganisationRelationType,
    Subject,
)
from .schemas import SECTIONS

KINDS = (*SECTIONS, "linking_credentials")
KIND_VALUES = frozenset(kind.value for kind in OrganisationKind)
FIRM_KINDS = frozenset({OrganisationKind.ACCOUNTING_FIRM, OrganisationKind.PAYROLL_SERVICE})
FIRM_RELATION = OrganisationRelationType.ACCOUNTING_FIRM.value
LINKING_DEDUPE = "import-linking:"

ORG_FIELDS = ("name", "kind", "language", "email", "phone", "address")
CONTACT_FIELDS = ("first_name", "last_name", "birth_date", "language", "email", "address")
PHONE_FIELDS = ("type", "territory", "country_code", "number", "extension")
RELATION_LABEL = "a comme firme comptable ou serv. de paie"
GRANT_KEY = (
    "subject_id",
    "owner_organisation_id",
    "holder_organisation_id",
    "holder_contact_id",
    "right",
)


def client_number_key(text: str) -> str:
    """The file's or the store's client number as the rows compare it: the forms' normal form
    (upper case, no spaces), or the text itself when it is not one (an error reported elsewhere)."""
    try:
        return normalise_client_number(text)
    except ValidationError:
        return text.strip()


ContactKey = int | str  # an existing contact's id, or the ref of a contact the file creates
RelationKey = tuple[ContactKey, str, str, dt.date]  # contact, organisation cn, type, start
OrgRelationKey = tuple[str, str, str]  # organisation cn, related cn, type


@dataclass
class Snapshot:
    """The rows an import compares against, read once (one query per table)."""

    orgs: dict[str, dict[str, Any]]
    org_cn: dict[int, str]
    contacts: dict[int, dict[str, Any]]
    contact_by_cn: dict[str, int]
    contact_by_ref: dict[str, int]
    phones: dict[int, list[tuple[Any, ...]]]
    relations: dict[tuple[int, int, str, dt.date], dict[str, Any]]
    org_relations: dict[tuple[int, int, str], dict[str, Any]]
    grants: dict[tuple[int, int, int | None, int | None, str], dict[str, Any]]
    legacy: dict[str, dict[str, Any]]
    subjects: dict[str, tuple[int, bool]]
    credentials_sent: set[int]

    @classmethod
    def load(cls) -> Snapshot:
        def rows(model: Any, *names: str, order: bool = False) -> list[dict[str, Any]]:
            stmt = select(*[getattr(model, name).label(name) for name in names])
            if order:
                stmt = stmt.order_by(model.id)
            result = db.session.connection().execute(stmt)  # Core: no ORM result machinery
            return [dict(zip(names, row, strict=True)) for row in result]

        # Keyed by the normal form: a number stored before the one rule ("ab-12") is the file's
        # "AB-12", not a second organisation.
        orgs = {
            client_number_key(r["client_number"]): r
            for r in rows(Organisation, "id", "client_number", *ORG_FIELDS)
        }
        contacts = {
            r["id"]: r for r in rows(Contact, "id", "client_number", "import_ref", *CONTACT_FIELDS)
        }
        phones: dict[int, list[tuple[Any, ...]]] = {}
        P = ContactPhone
        for row in db.session.connection().execute(
            select(P.contact_id, *[getattr(P, name) for name in PHONE_FIELDS]).order_by(
                P.contact_id, P.position, P.id
            )
        ):
            phones.setdefault(row[0], []).append(tuple(row[1:]))
        propagated = ("start_date", "end_date", "active", "ended_at", "end_visible_at")
        # Ordered by id: where several rows share a natural key, the latest one wins.
        relations = {
            (r["contact_id"], r["organisation_id"], r["type"], r["start_date"]): r
            for r in rows(
                ContactRelation,
                "id",
                "contact_id",
                "organisation_id",
                "type",
                *propagated,
                order=True,
            )
        }
        org_relations = {
            (r["organisation_id"], r["related_organisation_id"], r["type"]): r
            for r in rows(
                OrganisationRelation,
                "id",
                "organisation_id",
                "related_organisation_id",
                "type",
                *propagated,
                order=True,
            )
        }
        grants = {
            tuple(r[name] for name in GRANT_KEY): r
            for r in rows(
                Grant,
                "id",
                *GRANT_KEY,
                "contact_relation_id",
                "organisation_relation_id",
                *propagated,
                order=True,
            )
        }
        legacy = {
            r["username"]: r
            for r in rows(
                LegacyCredential, "id", "username", "password_hash", "contact_id", "organisation_id"
            )
        }
        subjects = {
            code: (ident, bool(unavailable))
            for ident, code, unavailable in db.session.execute(
                select(Subject.id, Subject.code, Subject.unavailable_in_delegation)
            )
        }
        sent = {
            int(key[len(LINKING_DEDUPE) :])
            for key in db.session.scalars(
                select(Email.dedupe_key).where(Email.dedupe_key.like(f"{LINKING_DEDUPE}%"))
            )
            if key is not None
        }
        return cls(
            orgs=orgs,
            org_cn={r["id"]: cn for cn, r in orgs.items()},
            contacts=contacts,
            contact_by_cn={
                client_number_key(r["client_number"]): i
                for i, r in contacts.items()
                if r["client_number"]
            },
            contact_by_ref={r["import_ref"]: i for i, r in contacts.items() if r["import_ref"]},
            phones=phones,
            relations=relations,
            org_relations=org_relations,
            grants=grants,
            legacy=legacy,
            subjects=subjects,
            credentials_sent=sent,
        )


@dataclass(slots=True)
class Row:
    """One row that passed its schema: where it was and what it holds (slots: no per-row
    attribute dict; the rows wait for the writes on disk, :class:`.RowSpool`)."""

    path: str
    data: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The validated file, every reference resolved: what the apply phase needs.

    ``rows`` are spools (:class:`.RowSpool`, on disk); ``contact_match`` is the one map kept
    for every contact of the file: its ref → the id of the existing contact it updates, or the
    ref itself (the one string object every check shares) for a contact the file creates,
    replaced by the new contact's id once it is written.
    """

    rows: dict[str, Any]  # section → RowSpool
    stored_refs: dict[str, int]  # ref → id of the contacts imported before
    contact_match: dict[str, ContactKey] = field(default_factory=dict)

    def contact_key(self, ref: str) -> ContactKey:
        """The id of the existing contact ``ref`` names, or ``ref`` for one the file creates."""
        found = self.contact_match.get(ref)
        if found is not None:
            return found
        return self.stored_refs.get(ref, ref)
