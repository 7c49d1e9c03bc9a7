"""Typed models of the profile store. Nothing is hard-deleted: removal is inactive + end date.

Propagation (the guide: *"La mise à jour des informations affichées dans cette section peut prendre
jusqu'à 24 heures"*): each relation and grant carries ``visible_at`` (when the portal's lists start
showing it) and ``end_visible_at`` (when the lists start showing it inactive). Access control reads
``active`` only, which changes at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The vocabulary is the pure layer's, defined once in ``forms.profile``; the service's modules
# that read it from here keep doing so.
from forms.profile import (  # noqa: F401 - re-exported
    AUTHORITY_RELATIONS,
    ORGANISATION_RELATION_LABELS,
    RELATION_LABELS,
    RIGHT_LABELS,
    SUBJECT_CATEGORY_LABELS,
    ContactRelationType,
    OrganisationKind,
    OrganisationRelationType,
    Right,
    SubjectCategory,
)

from ..clock import now
from ..db import END_OF_TIME, JSONType, UTCDateTime, db

CONTACT_RELATION_LABELS = RELATION_LABELS


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class Organisation(Timestamped, db.Model):  # type: ignore[name-defined, misc]
    """A client of the body (employer, accounting firm, payroll service), with its client number."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    created_by_request_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("kind IN ('employer', 'accounting_firm', 'payroll_service')", name="kind"),
    )


class Contact(Timestamped, db.Model):  # type: ignore[name-defined, misc]
    """A person known to the body; may have a client number of their own."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The external key of the legacy site's export (``ref`` in docs/import-format.md): how a
    # re-import finds a contact that has no client number.
    import_ref: Mapped[str | None] = mapped_column(String(60), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    address: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    created_by_request_id: Mapped[int | None] = mapped_column(Integer)

    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact", order_by="ContactPhone.position", cascade="all, delete-orphan"
    )

    # The lists sort by name: with this index the first page of a firm's contacts or of their
    # authorizations is a walk of the first names in order, not a sort of every row
    # (bench/lists.py).
    __table_args__ = (Index("ix_contacts_name", "last_name", "first_name"),)

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


class ContactPhone(db.Model):  # type: ignore[name-defined, misc]
    """One phone number of a contact (type, territory, country code, number)."""

    __tablename__ = "contact_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(30))
    territory: Mapped[str] = mapped_column(String(60), default="Amérique du Nord")
    country_code: Mapped[str] = mapped_column(String(6), default="+1")
    number: Mapped[str] = mapped_column(String(30))
    extension: Mapped[str | None] = mapped_column(String(10))

    contact: Mapped[Contact] = relationship(back_populates="phones")


class Propagated:
    """Columns shared by relations and grants: truth now (``active``) and as the lists show it."""

    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date, default=lambda: END_OF_TIME)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    visible_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_visible_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_request_id: Mapped[int | None] = mapped_column(Integer)
    ended_by_request_id: Mapped[int | None] = mapped_column(Integer)


class ContactRelation(Propagated, db.Model):  # type: ignore[name-defined, misc]
    """A contact's relation to an organisation (Responsable, Membre du personnel…)."""

    __tablename__ = "contact_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    type: Mapped[str] = mapped_column(String(40))

    contact: Mapped[Contact] = relationship()
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        # (organisation, active) for the lists; with the type, the authority relations of a
        # profile view are found without reading all the firm's relations.
        Index("ix_contact_relations_org_active", "organisation_id", "active", "type"),
        Index("ix_contact_relations_contact_active", "contact_id", "active"),
    )


class OrganisationRelation(Propagated, db.Model):  # type: ignore[name-defined, misc]
    """``organisation`` *a comme firme comptable ou serv. de paie* ``related_organisation``."""

    __tablename__ = "organisation_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    related_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    related_organisation: Mapped[Organisation] = relationship(
        foreign_keys=[related_organisation_id]
    )


class Subject(db.Model):  # type: ignore[name-defined, misc]
    """An authorized subject of the catalogue (Rapport mensuel, Main-d'œuvre…)."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name_fr: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(30))
    # The guide's phase-1 limitation: not reachable through "Mes dossiers autorisés".
    unavailable_in_delegation: Mapped[bool] = mapped_column(Boolean, default=False)


class Grant(Propagated, db.Model):  # type: ignore[name-defined, misc]
    """A right (read/write) on one subject of one organisation's dossier.

    Held by an organisation (a firm's rights on a client employer's dossier, through an
    organisation relation) or by a contact (through the contact's relation; for a delegation,
    also through the organisation relation of the client employer with the firm).
    """

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    owner_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    right: Mapped[str] = mapped_column("access_right", String(10))
    holder_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    holder_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    contact_relation_id: Mapped[int | None] = mapped_column(ForeignKey("contact_relations.id"))
    organisation_relation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation_relations.id")
    )

    subject: Mapped[Subject] = relationship()
    owner_organisation: Mapped[Organisation] = relationship(foreign_keys=[owner_organisation_id])
    holder_organisation: Mapped[Organisation | None] = relationship(
        foreign_keys=[holder_organisation_id]
    )
    holder_contact: Mapped[Contact | None] = relationship()
    contact_relation: Mapped[ContactRelation | None] = relationship()

    __table_args__ = (
        CheckConstraint("access_right IN ('read', 'write')", name="right"),
        CheckConstraint(
            "(holder_organisation_id IS NULL) <> (holder_contact_id IS NULL)", name="one_holder"
        ),
        # The Autorisations list counts a firm's grants shown now (visible_at <= now), its own
        # per subject: these two indexes cover the counts (index-only scans, no heap visit) and
        # their first column still serves the lookups of a holder's or a relation's grants.
        Index(
            "ix_grants_holder_organisation_subject",
            "holder_organisation_id",
            "subject_id",
            "visible_at",
        ),
        Index(
            "ix_grants_contact_relation_visible",
            "contact_relation_id",
            "visible_at",
            "holder_contact_id",
        ),
    )


class ProfileChange(db.Model):  # type: ignore[name-defined, misc]
    """Who changed what in the profile store, and which request (and operation) caused it.

    ``(request_id, op_index)`` is unique: an operation of a request takes effect once.
    """

    __tablename__ = "profile_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    actor_account_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # request | import | demo | operator
    request_id: Mapped[int | None] = mapped_column(Integer)
    op_index: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, object] | None] = mapped_column(JSONType)

    __table_args__ = (
        UniqueConstraint("request_id", "op_index"),
        Index("ix_profile_changes_entity", "entity", "entity_id"),
    )
