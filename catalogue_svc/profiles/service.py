"""The catalogue of authorized subjects, and small read helpers of the profile store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..db import db
from .models import SUBJECT_CATEGORY_LABELS, Organisation, Subject, SubjectCategory


@dataclass(frozen=True)
class SubjectSpec:
    """One entry of the catalogue of authorized subjects."""

    code: str
    name_fr: str
    name_en: str
    category: str
    unavailable_in_delegation: bool = False


SUBJECTS: tuple[SubjectSpec, ...] = (
    SubjectSpec("main_oeuvre", "Main-d'œuvre", "Workforce", SubjectCategory.CHANTIER),
    # The guide's phase-1 limitation: these three are not reachable through "Mes dossiers
    # autorisés"; the employer must add the person as its own contact.
    SubjectSpec(
        "gestion_main_oeuvre",
        "Gestion de main-d'œuvre",
        "Workforce management",
        SubjectCategory.CHANTIER,
        unavailable_in_delegation=True,
    ),
    SubjectSpec(
        "identification_chantier",
        "Identification de chantier",
        "Job site identification",
        SubjectCategory.CHANTIER,
        unavailable_in_delegation=True,
    ),
    SubjectSpec(
        "lettre_etat_situation",
        "Lettre d'état de situation",
        "Status letter",
        SubjectCategory.CHANTIER,
        unavailable_in_delegation=True,
    ),
    SubjectSpec("rapport_mensuel", "Rapport mensuel", "Monthly report", SubjectCategory.PAIEMENTS),
    SubjectSpec("paiements", "Paiements", "Payments", SubjectCategory.PAIEMENTS),
    SubjectSpec(
        "releves_remises",
        "Relevés / Remises",
        "Statements / Remittances",
        SubjectCategory.PAIEMENTS,
    ),
    SubjectSpec(
        "profil_organisation",
        "Profil de l'organisation",
        "Organisation profile",
        SubjectCategory.PROFIL,
    ),
    SubjectSpec("coordonnees", "Coordonnées", "Contact information", SubjectCategory.PROFIL),
)

SUBJECT_CODES = frozenset(spec.code for spec in SUBJECTS)


def ensure_subjects() -> dict[str, int]:
    """Create or update the catalogue's subjects by code (idempotent); returns code → id.

    Runs in the caller's transaction (it flushes, never commits).
    """
    existing = {s.code: s for s in db.session.scalars(select(Subject))}
    for spec in SUBJECTS:
        values = {
            "name_fr": spec.name_fr,
            "name_en": spec.name_en,
            "category": str(spec.category),
            "unavailable_in_delegation": spec.unavailable_in_delegation,
        }
        subject = existing.get(spec.code)
        if subject is None:
            subject = Subject(code=spec.code, **values)
            db.session.add(subject)
            existing[spec.code] = subject
            continue
        for name, value in values.items():
            if getattr(subject, name) != value:
                setattr(subject, name, value)
    db.session.flush()
    return {code: subject.id for code, subject in existing.items()}


def subject_ids() -> dict[str, int]:
    """Code → id of every subject in the database."""
    return dict(db.session.execute(select(Subject.code, Subject.id)).all())


def subjects_by_category() -> list[tuple[str, str, str, list[Subject]]]:
    """Subjects grouped as the forms show them: (category, label fr, label en, subjects).

    Categories in the catalogue's order, subjects by French name.
    """
    subjects = db.session.scalars(select(Subject)).all()
    groups: list[tuple[str, str, str, list[Subject]]] = []
    for category, (label_fr, label_en) in SUBJECT_CATEGORY_LABELS.items():
        members = sorted((s for s in subjects if s.category == category), key=lambda s: s.name_fr)
        if members:
            groups.append((category, label_fr, label_en, members))
    return groups


def organisation_by_client_number(client_number: str) -> Organisation | None:
    """The organisation with this client number, if any."""
    return db.session.scalars(
        select(Organisation).where(Organisation.client_number == client_number)
    ).one_or_none()
