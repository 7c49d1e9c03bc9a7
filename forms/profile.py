"""The read-only view of one organisation's profile that the forms check changesets against,
and the profile store's vocabulary.

The service builds the view from the profile store; the forms never see the database. Everything
is frozen: a form cannot change the profile, it can only describe a change (``forms.changeset``).

The vocabulary (organisation kinds, relation types and their labels, who may manage, subject
categories, rights) and the rule of which grants end with a relation are defined here once: the
models, the access check, the applies of a request and of an import, the lists and the forms all
read them from this module.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AUTHORITY_RELATIONS",
    "ORGANISATION_RELATION_LABELS",
    "RELATION_LABELS",
    "RIGHT_LABELS",
    "RIGHT_RANK",
    "SUBJECT_CATEGORY_LABELS",
    "SUBJECT_CATEGORY_ORDER",
    "VIEW_PARTS",
    "ContactInfo",
    "ContactRelationType",
    "GrantInfo",
    "OrgInfo",
    "OrgRelationInfo",
    "OrganisationKind",
    "OrganisationRelationType",
    "PhoneInfo",
    "ProfileView",
    "RelationInfo",
    "Right",
    "SubjectCategory",
    "SubjectInfo",
    "ViewPart",
    "ends_with_relations",
    "may_manage",
]

# --------------------------------------------------------------------------- vocabulary
# The values are what the store keeps. Every table is keyed by the plain strings of its enum's
# values (they reach SQL and JSON as they are), and a unit test checks that each member has a label.


class OrganisationKind(enum.StrEnum):
    """What an organisation is to the body."""

    EMPLOYER = "employer"
    ACCOUNTING_FIRM = "accounting_firm"
    PAYROLL_SERVICE = "payroll_service"


class ContactRelationType(enum.StrEnum):
    """A contact's relation to an organisation."""

    RESPONSABLE = "responsable"
    ADMINISTRATEUR = "administrateur_dossier"
    DIRIGEANT = "dirigeant"
    MEMBRE_PERSONNEL = "membre_personnel"
    INDIVIDU_AUTORISE = "individu_autorise"
    CONTACT = "contact"


RELATION_LABELS: dict[str, tuple[str, str]] = {
    ContactRelationType.RESPONSABLE.value: ("Responsable", "Person in charge"),
    ContactRelationType.ADMINISTRATEUR.value: (
        "Administrateur du dossier",
        "File administrator",
    ),
    ContactRelationType.DIRIGEANT.value: ("Dirigeant", "Officer"),
    ContactRelationType.MEMBRE_PERSONNEL.value: ("Membre du personnel", "Staff member"),
    ContactRelationType.INDIVIDU_AUTORISE.value: ("Individu autorisé", "Authorized individual"),
    ContactRelationType.CONTACT.value: ("Contact", "Contact"),
}

# The relation types that carry the authority to use the Autorisations forms (the guide:
# "personnes responsables, administratrices, dirigeantes"). Plain strings: they go into SQL
# ``IN`` lists and JSON as they are.
AUTHORITY_RELATIONS: frozenset[str] = frozenset(
    {
        ContactRelationType.RESPONSABLE.value,
        ContactRelationType.ADMINISTRATEUR.value,
        ContactRelationType.DIRIGEANT.value,
    }
)


def may_manage(relation_types: Iterable[str]) -> bool:
    """Whether a contact with these relations to a profile may manage its authorizations (use
    the Autorisations forms, see the firm's relations and authorizations)."""
    return not AUTHORITY_RELATIONS.isdisjoint(relation_types)


class OrganisationRelationType(enum.StrEnum):
    """An organisation's relation to another one."""

    ACCOUNTING_FIRM = "firme_comptable"


ORGANISATION_RELATION_LABELS: dict[str, tuple[str, str]] = {
    OrganisationRelationType.ACCOUNTING_FIRM.value: (
        "a comme firme comptable ou serv. de paie",
        "has as accounting firm or payroll service",
    ),
}


class SubjectCategory(enum.StrEnum):
    """The group of an authorized subject, in the order the portal shows the groups."""

    CHANTIER = "chantier_conformite"
    PAIEMENTS = "paiements_releves"
    PROFIL = "profil"


SUBJECT_CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    SubjectCategory.CHANTIER.value: ("Chantier et conformité", "Job sites and compliance"),
    SubjectCategory.PAIEMENTS.value: ("Paiements et relevés", "Payments and statements"),
    SubjectCategory.PROFIL.value: ("Profil", "Profile"),
}
SUBJECT_CATEGORY_ORDER: tuple[str, ...] = tuple(c.value for c in SubjectCategory)


class Right(enum.StrEnum):
    """A right on a subject of a dossier."""

    READ = "read"
    WRITE = "write"


RIGHT_LABELS: dict[str, tuple[str, str]] = {
    Right.READ.value: ("Lecture", "Read"),
    Right.WRITE.value: ("Écriture", "Write"),
}
RIGHT_RANK: Mapping[str, int] = {Right.READ.value: 1, Right.WRITE.value: 2}


def ends_with_relations(
    contact_relation_id: int | None,
    organisation_relation_id: int | None,
    ended_relations: Container[int | None],
    ended_org_relations: Container[int | None] = frozenset(),
) -> bool:
    """Whether a grant ends when these relations end: ending a relation ends the grants held
    through it, and ending an organisation relation ends the grants delegated through it.

    A grant goes through its ``contact_relation_id`` and its ``organisation_relation_id``
    (either may be ``None``). The removal form, the apply of a request and the import decide
    with this rule which grants a relation's end takes with it; each keeps its own end date.
    """
    return (contact_relation_id is not None and contact_relation_id in ended_relations) or (
        organisation_relation_id is not None and organisation_relation_id in ended_org_relations
    )


# The parts of a :class:`ProfileView` besides the organisation itself, each one read from the
# store only when a form's changeset needs it (a part left out is empty): ``contacts`` (the
# contacts with their relations), ``organisations`` (``org_relations`` and
# ``related_organisations``), ``grants`` (those of the contacts only with ``contacts``) and
# ``subjects``.
ViewPart = Literal["contacts", "organisations", "grants", "subjects"]
VIEW_PARTS: frozenset[ViewPart] = frozenset({"contacts", "organisations", "grants", "subjects"})


@dataclass(frozen=True)
class PhoneInfo:
    """One phone number of a contact; ``id`` is the store's (what a form names to change or
    remove this phone; ``None`` in a view built without ids)."""

    type: str
    territory: str
    country_code: str
    number: str
    extension: str | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The phone as the plain dict the changeset operations carry (without its id)."""
        return {
            "type": self.type,
            "territory": self.territory,
            "country_code": self.country_code,
            "number": self.number,
            "extension": self.extension,
        }


@dataclass(frozen=True)
class ContactInfo:
    """A person with an active relation to the organisation."""

    id: int
    first_name: str
    last_name: str
    birth_date: dt.date | None
    email: str | None
    language: str
    client_number: str | None
    phones: tuple[PhoneInfo, ...] = ()
    address: Mapping[str, str] | None = None

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class OrgInfo:
    """An organisation: the profile's own, or one in relation with it."""

    id: int
    name: str
    client_number: str
    kind: str


@dataclass(frozen=True)
class RelationInfo:
    """A contact's relation to an organisation (Responsable, Membre du personnel…)."""

    id: int
    contact_id: int
    organisation_id: int
    type: str
    start_date: dt.date
    end_date: dt.date
    active: bool = True


@dataclass(frozen=True)
class OrgRelationInfo:
    """``organisation`` (the client employer) *a comme firme comptable* ``related_organisation``."""

    id: int
    organisation_id: int
    related_organisation_id: int
    type: str
    active: bool = True


@dataclass(frozen=True)
class GrantInfo:
    """A right on one subject of ``owner_organisation``'s dossier, held by a contact or an org."""

    id: int
    subject_code: str
    owner_organisation_id: int
    right: str
    holder_contact_id: int | None
    holder_organisation_id: int | None
    contact_relation_id: int | None
    organisation_relation_id: int | None
    active: bool = True


@dataclass(frozen=True)
class SubjectInfo:
    """An authorized subject of the catalogue (Rapport mensuel, Main-d'œuvre…)."""

    code: str
    name_fr: str
    name_en: str
    category: str
    unavailable_in_delegation: bool = False

    def name(self, lang: str) -> str:
        """The subject's name in ``lang`` (French unless ``en``)."""
        return self.name_en if lang == "en" else self.name_fr


@dataclass(frozen=True)
class ProfileView:
    """What the forms may know of one organisation's profile, as it is now.

    ``contacts``: the contacts with an active relation to the organisation; ``relations``: their
    active relations to it; ``related_organisations``: the organisations in an active organisation
    relation with it (a firm's clients); ``grants``: the active grants held by the organisation
    itself or by its contacts (on its own dossier and delegated on clients' dossiers).
    """

    organisation: OrgInfo
    contacts: Mapping[int, ContactInfo]
    relations: tuple[RelationInfo, ...]
    related_organisations: Mapping[int, OrgInfo]
    org_relations: tuple[OrgRelationInfo, ...]
    grants: tuple[GrantInfo, ...]
    subjects: Mapping[str, SubjectInfo]

    def relations_of(self, contact_id: int) -> tuple[RelationInfo, ...]:
        """The contact's active relations to the organisation, oldest id first."""
        return tuple(
            sorted(
                (
                    r
                    for r in self.relations
                    if r.contact_id == contact_id
                    and r.organisation_id == self.organisation.id
                    and r.active
                ),
                key=lambda r: r.id,
            )
        )

    def relation(self, relation_id: int) -> RelationInfo | None:
        """The active relation to the organisation with this id, if any."""
        for r in self.relations:
            if r.id == relation_id and r.organisation_id == self.organisation.id and r.active:
                return r
        return None

    def responsable_relations(self) -> tuple[RelationInfo, ...]:
        """The organisation's active *Responsable* relations."""
        return tuple(
            r
            for r in self.relations
            if r.type == "responsable" and r.active and r.organisation_id == self.organisation.id
        )

    def org_relation_with(self, organisation_id: int) -> OrgRelationInfo | None:
        """The active relation in which ``organisation_id`` has this organisation as its firm."""
        for r in self.org_relations:
            if (
                r.active
                and r.organisation_id == organisation_id
                and r.related_organisation_id == self.organisation.id
            ):
                return r
        return None

    def firm_org_relation_ids(self) -> frozenset[int]:
        """Ids of the active relations in which a client has this organisation as its firm."""
        return frozenset(
            r.id
            for r in self.org_relations
            if r.active and r.related_organisation_id == self.organisation.id
        )

    def grants_of(self, contact_id: int) -> tuple[GrantInfo, ...]:
        """Every active grant the contact holds (through this organisation or not)."""
        return tuple(g for g in self.grants if g.holder_contact_id == contact_id and g.active)

    def grants_through_firm(self, contact_id: int) -> tuple[GrantInfo, ...]:
        """The contact's active grants that exist because of this organisation.

        Those tied to one of the contact's relations to the organisation, and those delegated on
        a client's dossier through one of the organisation's client relations. Grants the contact
        holds through a relation of their own with another organisation are not the firm's to
        touch.
        """
        relation_ids = {r.id for r in self.relations_of(contact_id)}
        org_relation_ids = self.firm_org_relation_ids()
        return tuple(
            g
            for g in self.grants_of(contact_id)
            if ends_with_relations(
                g.contact_relation_id, g.organisation_relation_id, relation_ids, org_relation_ids
            )
        )

    def grants_tied_to(self, relation_id: int) -> tuple[GrantInfo, ...]:
        """The active grants that end with one contact relation (:func:`ends_with_relations`)."""
        ended = {relation_id}
        return tuple(
            g
            for g in self.grants
            if g.active
            and ends_with_relations(g.contact_relation_id, g.organisation_relation_id, ended)
        )

    def delegated_grants(
        self, contact_id: int, owner_organisation_id: int
    ) -> tuple[GrantInfo, ...]:
        """The contact's grants delegated by this organisation on one client's dossier."""
        org_relation_ids = self.firm_org_relation_ids()
        return tuple(
            g
            for g in self.grants_of(contact_id)
            if g.owner_organisation_id == owner_organisation_id
            and g.organisation_relation_id in org_relation_ids
        )

    def firm_grants_on(self, owner_organisation_id: int) -> Mapping[str, GrantInfo]:
        """The organisation's own rights on a client's dossier, by subject (the highest right)."""
        best: dict[str, GrantInfo] = {}
        for g in self.grants:
            if (
                g.active
                and g.holder_organisation_id == self.organisation.id
                and g.holder_contact_id is None
                and g.owner_organisation_id == owner_organisation_id
            ):
                current = best.get(g.subject_code)
                if current is None or RIGHT_RANK[g.right] > RIGHT_RANK[current.right]:
                    best[g.subject_code] = g
        return best
