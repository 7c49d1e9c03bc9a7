"""The guide's demo firm, built directly in the store for tests that need a realistic profile."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask

from catalogue_svc.db import db
from catalogue_svc.notifications.service import queue_email
from catalogue_svc.profiles.models import (
    Contact,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
)
from catalogue_svc.profiles.service import ensure_subjects

START = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class Firm:
    """Ids of the guide's firm, its two clients and three members."""

    firm: int
    shaw: int
    plomberie: int
    shaw_relation: int
    plomberie_relation: int
    rebecca: int  # responsable
    marie_karine: int  # membre du personnel
    marie_helene: int  # membre du personnel
    marie_karine_relation: int
    marie_helene_relation: int
    subjects: dict[str, int]


def guide_firm(app: Flask, *, prefix: str = "1", name: str = "LAFORCE COMPTABLE INC") -> Firm:
    """LAFORCE COMPTABLE INC with ENTREPRISE SHAW INC. and PLOMBERIE RICHARD BELANGER."""
    with app.app_context():
        subjects = ensure_subjects()
        firm = Organisation(client_number=f"{prefix}000001", name=name, kind="accounting_firm")
        shaw = Organisation(
            client_number=f"{prefix}000002", name="ENTREPRISE SHAW INC.", kind="employer"
        )
        plomberie = Organisation(
            client_number=f"{prefix}000003", name="PLOMBERIE RICHARD BELANGER", kind="employer"
        )
        db.session.add_all([firm, shaw, plomberie])
        db.session.flush()
        shaw_rel = OrganisationRelation(
            organisation_id=shaw.id,
            related_organisation_id=firm.id,
            type="firme_comptable",
            start_date=START,
        )
        plomberie_rel = OrganisationRelation(
            organisation_id=plomberie.id,
            related_organisation_id=firm.id,
            type="firme_comptable",
            start_date=START,
        )
        db.session.add_all([shaw_rel, plomberie_rel])
        db.session.flush()
        for owner, relation, code in [
            (shaw, shaw_rel, "rapport_mensuel"),
            (plomberie, plomberie_rel, "rapport_mensuel"),
            (plomberie, plomberie_rel, "main_oeuvre"),
        ]:
            db.session.add(
                Grant(
                    subject_id=subjects[code],
                    owner_organisation_id=owner.id,
                    right="write",
                    holder_organisation_id=firm.id,
                    organisation_relation_id=relation.id,
                    start_date=START,
                )
            )
        people = {}
        for key, first, last, email, relation in [
            (
                "rebecca",
                "REBECCA",
                "DESCOTEAUX-LAFORCE",
                f"rebecca.{prefix}@laforce.example",
                "responsable",
            ),
            (
                "marie_karine",
                "Marie-Karine",
                "Bérard",
                f"mk.berard.{prefix}@laforce.example",
                "membre_personnel",
            ),
            (
                "marie_helene",
                "Marie-Hélène",
                "Demierre",
                f"mh.demierre.{prefix}@laforce.example",
                "membre_personnel",
            ),
        ]:
            contact = Contact(
                first_name=first,
                last_name=last,
                email=email,
                birth_date=dt.date(1980, 3, 14),
                language="fr",
            )
            db.session.add(contact)
            db.session.flush()
            rel = ContactRelation(
                contact_id=contact.id, organisation_id=firm.id, type=relation, start_date=START
            )
            db.session.add(rel)
            db.session.flush()
            people[key] = (contact.id, rel.id)
        db.session.commit()
        return Firm(
            firm=firm.id,
            shaw=shaw.id,
            plomberie=plomberie.id,
            shaw_relation=shaw_rel.id,
            plomberie_relation=plomberie_rel.id,
            rebecca=people["rebecca"][0],
            marie_karine=people["marie_karine"][0],
            marie_helene=people["marie_helene"][0],
            marie_karine_relation=people["marie_karine"][1],
            marie_helene_relation=people["marie_helene"][1],
            subjects=subjects,
        )


def add_grant(
    firm: Firm,
    subject: str,
    *,
    contact: int,
    relation: int,
    right: str = "read",
    start: dt.date = START,
) -> None:
    """Adds to the session (uncommitted) a grant of one of the firm's subjects (by code) to a
    member, through the member's relation to the firm."""
    db.session.add(
        Grant(
            subject_id=firm.subjects[subject],
            owner_organisation_id=firm.firm,
            right=right,
            holder_contact_id=contact,
            contact_relation_id=relation,
            start_date=start,
        )
    )


def add_julie_levesque(**fields: object) -> None:
    """Adds to the store (committed) Julie Levesque, a person outside the firm: the probable
    duplicate of the guide's new member."""
    db.session.add(
        Contact(
            first_name="Julie",
            last_name="Levesque",
            birth_date=dt.date(1990, 5, 17),
            email="julie.l@ailleurs.example",
            **fields,
        )
    )
    db.session.commit()


def queue_credentials_email(to: str = "marie@example.org", *, language: str = "fr") -> int:
    """Queues (committed) the linking-credentials email of Marie Bérard, the guide's example, and
    returns its id."""
    email_id = queue_email(
        to=to,
        template="linking_credentials",
        language=language,
        params={
            "first_name": "Marie",
            "last_name": "Bérard",
            "organisation_name": "LAFORCE COMPTABLE INC",
            "organisation_client_number": "1000001",
            "identifier": "L-AAAA-BBBB",
            "code": "SECRETCODE",
            "expires_on": "2027-01-31",
        },
    )
    db.session.commit()
    return email_id


def add_member(organisation_id: int, *, first_name: str, last_name: str, **fields: object) -> int:
    """Adds (flushed, not committed) a *Membre du personnel* of the organisation since
    2024-01-01, without authority; returns its contact id. ``fields``: more of the contact's
    (email, language)."""
    contact = Contact(first_name=first_name, last_name=last_name, **fields)
    db.session.add(contact)
    db.session.flush()
    db.session.add(
        ContactRelation(
            contact_id=contact.id,
            organisation_id=organisation_id,
            type="membre_personnel",
            start_date=START,
        )
    )
    return int(contact.id)
