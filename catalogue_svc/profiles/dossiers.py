"""*Mes dossiers autorisés*: the other organisations' dossiers a person holds subjects on, and
the services not yet reachable through a delegation (the first phase's note)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db import db
from .lists import label
from .models import RIGHT_LABELS, Grant, Organisation, Subject

PHASE1_NOTE = {
    "fr": (
        "Lors de cette première phase de déploiement, ce service n'est pas accessible dans le "
        "profil de la personne déléguée. Pour y accéder, l'employeur doit ajouter la personne "
        "comme contact de sa propre entreprise, ou la personne doit lier le dossier de "
        "l'employeur avec ses anciens identifiants et mot de passe des services en ligne."
    ),
    "en": (
        "In this first phase, this service is not available in the delegate's profile. To "
        "reach it, the employer must add the person as a contact of its own business, or the "
        "person must link the employer's file with their former online-services username and "
        "password."
    ),
}


def authorized_dossiers(contact_id: int, organisation_id: int, lang: str = "fr") -> dict[str, Any]:
    """*Mes dossiers autorisés*: other organisations' dossiers the person holds subjects on now."""
    rows = db.session.execute(
        select(Grant, Subject, Organisation)
        .join(Subject, Subject.id == Grant.subject_id)
        .join(Organisation, Organisation.id == Grant.owner_organisation_id)
        .where(
            Grant.holder_contact_id == contact_id,
            Grant.active.is_(True),
            Grant.owner_organisation_id != organisation_id,
        )
        .order_by(Organisation.name, Subject.name_fr)
    ).all()
    dossiers: dict[int, dict[str, Any]] = {}
    for grant, subject, org in rows:
        dossier = dossiers.setdefault(
            org.id,
            {
                "organisation": {
                    "id": org.id,
                    "name": org.name,
                    "client_number": org.client_number,
                },
                "subjects": [],
            },
        )
        dossier["subjects"].append(
            {
                "code": subject.code,
                "name": subject.name_fr if lang == "fr" else subject.name_en,
                "right": grant.right,
                "right_label": label(RIGHT_LABELS, grant.right, lang),
                "available": not subject.unavailable_in_delegation,
                "note": PHASE1_NOTE[lang] if subject.unavailable_in_delegation else None,
            }
        )
    unavailable = db.session.scalars(
        select(Subject).where(Subject.unavailable_in_delegation.is_(True)).order_by(Subject.name_fr)
    ).all()
    return {
        "items": list(dossiers.values()),
        "unavailable_services": [
            {"code": s.code, "name": s.name_fr if lang == "fr" else s.name_en} for s in unavailable
        ],
        "note": PHASE1_NOTE[lang],
    }
