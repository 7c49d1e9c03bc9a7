"""The catalogue of authorized subjects, and small read helpers of the profile store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, or_, select

from ..access import ProfileAccess
from ..db import db
from ..errors import NotFound
from .detail import contact_detail as listed_contact
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


def contact_detail(access: ProfileAccess, contact_id: int, *, lang: str = "fr") -> dict[str, Any]:
    """A contact of the profile as *Relations et autorisations* shows it, with the pending
    requests about them; 404 when the contacts list does not show them (another firm's
    contact, an unknown id, one not yet propagated)."""
    detail = listed_contact(
        access.organisation_id, contact_id, show_birth_date=access.can_manage, lang=lang
    )
    if detail is None:
        raise NotFound()
    detail["pending_requests"] = pending_requests_about(access, contact_id)
    return detail


def pending_requests_about(access: ProfileAccess, contact_id: int) -> list[dict[str, Any]]:
    """The profile's pending requests about an existing contact, oldest first: the ones whose
    form names them (``variables.contact_id``) or that an agent merges into them. Only those
    the caller may read in *Mes demandes*: a member without authority, their own.

    The JSON value is compared as text in SQL (the same on SQLite and PostgreSQL, and no cast
    that a stored odd value could make fail), then checked exactly here.
    """
    import workflows
    from forms import registry

    from ..requests.conflicts import PENDING
    from ..requests.models import Request

    named = cast(Request.variables["contact_id"].as_string(), String)
    stmt = select(
        Request.number,
        Request.form_slug,
        Request.state,
        Request.created_at,
        Request.variables,
        Request.merge_with_contact_id,
    ).where(
        Request.organisation_id == access.organisation_id,
        Request.state.in_(PENDING),
        or_(named == str(contact_id), Request.merge_with_contact_id == contact_id),
    )
    if not access.can_manage:
        stmt = stmt.where(Request.submitted_by_account_id == access.account_id)
    items = []
    for number, slug, state, created_at, variables, merged in db.session.execute(
        stmt.order_by(Request.created_at, Request.id)
    ):
        value = variables.get("contact_id") if isinstance(variables, dict) else None
        about = type(value) is int and value == contact_id  # not True, not "12"
        if not (about or merged == contact_id):
            continue
        form = registry.get(slug)
        items.append(
            {
                "number": number,
                "item": slug,
                "title": form.title_fr if form else slug,
                "state": state,
                "state_label": workflows.label(state),
                "submitted_at": created_at.isoformat(),
            }
        )
    return items
