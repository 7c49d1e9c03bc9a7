"""*Ajouter une relation ou des sujets autorisés à un contact* (catalogue Profil › Autorisations).

The guide (Étapes 4 and 5): choose a *Contact dans ce profil*, or check *Le contact n'existe pas*
and give the new member's personal information (and their *numéro de client* if they already have
one: the duplicate check and an agent then validate the request); *Choisir la relation à ajouter*
(*Membre du personnel*, *Individu autorisé*); start date (today) and end date (9999-12-31 unless
changed); the subjects in read/write on the firm's own dossier, or, with *Une autre organisation*,
an organisation in relation with the firm and subjects on its dossier (a delegation); the
attestation boxes. A new contact receives linking credentials by email once the request is applied.

Rules the guide implies and this module enforces:

- a delegation goes only to an organisation in an active relation *a comme firme comptable* with
  the firm, and only for subjects the firm itself holds on that organisation, with no more than the
  firm's right (read only stays read only);
- the phase-1 subjects that *Mes dossiers autorisés* does not reach (*Gestion de main-d'œuvre*,
  *Identification de chantier*, *Lettre d'état de situation*: ``unavailable_in_delegation``) are
  refused in a delegation, with the guide's advice (the employer adds the person as its contact);
- an existing contact who already has the chosen relation keeps it, dates unchanged (a relation's
  end date changes with the modification form): the subjects are tied to it;
  a subject already held with the same or a higher right is left as it is, a read right asked in
  write is replaced;
- a new contact needs an email address (the linking credentials are sent to it) and a birth date
  (the duplicate check uses it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import Any

from . import messages
from .base import (
    END_OF_TIME,
    TODAY,
    BuildOptions,
    ErrorCollector,
    Field,
    Submission,
)
from .changeset import (
    AddContact,
    AddContactRelation,
    GrantSubject,
    IssueLinkingCredentials,
    Operation,
    Ref,
    RevokeGrant,
    new_ref,
)
from .common import (
    ATTESTATION,
    CATEGORY_AUTORISATIONS,
    LANGUAGES,
    RELATION_LABELS,
    attestation_description,
    birth_date_value,
    choices_of,
    contact_description,
    phone_e164,
    phones_description,
    profile_form,
)
from .profile import RIGHT_RANK, ProfileView
from .values import ClientNumber, Email, Text

SLUG = "add-relation"

RELATION_TYPES = ("membre_personnel", "individu_autorise")

CONSENT_FR = (
    "J'atteste que la personne visée fait partie de mon organisation et que les sujets autorisés "
    "demandés lui sont nécessaires pour traiter les dossiers de mon organisation ou de ses clients."
)
CONSENT_EN = (
    "I attest that the person concerned belongs to my organisation and needs the requested "
    "authorized subjects to handle the files of my organisation or of its clients."
)

_EXISTING = {"field": "contact_does_not_exist", "equals": False}
_NEW = {"field": "contact_does_not_exist", "equals": True}
_OWN = {"field": "other_organisation", "equals": False}
_OTHER = {"field": "other_organisation", "equals": True}


def _both_lists(
    submitted: Submission, write_name: str, read_name: str, errors: ErrorCollector
) -> None:
    both = set(submitted.data.get(write_name) or ()) & set(submitted.data.get(read_name) or ())
    for code in sorted(both):
        errors.add(read_name, messages.SUBJECT_IN_BOTH_LISTS.format(code))


def rules(submitted: Submission, errors: ErrorCollector) -> None:
    """A delegation names a subject; no subject in both lists; the end not before the start."""
    if submitted.met(_OTHER):
        if not (
            submitted.given("organisation_subjects")
            or submitted.given("organisation_read_subjects")
        ):
            errors.add("organisation_subjects", messages.CHOOSE_AT_LEAST_ONE)
        _both_lists(submitted, "organisation_subjects", "organisation_read_subjects", errors)
    elif submitted.met(_OWN):
        _both_lists(submitted, "subjects", "read_subjects", errors)
    start, end = submitted.data.get("start_date"), submitted.data.get("end_date")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        errors.add("end_date", messages.END_BEFORE_START)


def _subject_name(view: ProfileView, code: str) -> str:
    subject = view.subjects.get(code)
    return subject.name_fr if subject else code


def _wanted_grants(
    variables: Mapping[str, Any], view: ProfileView, errors: ErrorCollector
) -> tuple[int, int | None, list[tuple[str, str]]]:
    """(owner organisation, organisation relation, [(subject, right)]) asked for, checked."""
    wanted: list[tuple[str, str]] = []
    if not variables.get("other_organisation"):
        for name, right in (("subjects", "write"), ("read_subjects", "read")):
            for index, code in enumerate(variables.get(name) or ()):
                if code not in view.subjects:
                    errors.add(f"{name}.{index}", messages.SUBJECT_UNKNOWN.format(code))
                else:
                    wanted.append((code, right))
        return view.organisation.id, None, wanted

    owner_id = variables["related_organisation_id"]
    org_relation = view.org_relation_with(owner_id)
    if org_relation is None or owner_id not in view.related_organisations:
        errors.add("related_organisation_id", messages.ORGANISATION_NOT_RELATED)
        return owner_id, None, []
    held = view.firm_grants_on(owner_id)
    for name, right in (("organisation_subjects", "write"), ("organisation_read_subjects", "read")):
        for index, code in enumerate(variables.get(name) or ()):
            path = f"{name}.{index}"
            subject = view.subjects.get(code)
            if subject is None:
                errors.add(path, messages.SUBJECT_UNKNOWN.format(code))
                continue
            firm_grant = held.get(code)
            if subject.unavailable_in_delegation:
                errors.add(path, messages.SUBJECT_NOT_DELEGABLE.format(subject.name_fr))
            elif firm_grant is None:
                errors.add(path, messages.SUBJECT_NOT_HELD.format(subject.name_fr))
            elif RIGHT_RANK[right] > RIGHT_RANK[firm_grant.right]:
                errors.add(path, messages.RIGHT_ABOVE_FIRM.format(subject.name_fr))
            else:
                wanted.append((code, right))
    return owner_id, org_relation.id, wanted


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The contact (new or existing), its relation to the firm, its grants; credentials if new."""
    errors = ErrorCollector()
    firm_id = view.organisation.id
    operations: list[Operation] = []
    creates_person = bool(variables.get("contact_does_not_exist"))

    contact: Ref
    contact_id: int | None
    if creates_person and options.merge_with_contact_id is not None:
        contact = contact_id = options.merge_with_contact_id
    elif creates_person:
        person = variables["new_contact"]
        operations.append(
            AddContact(
                ref="contact",
                first_name=person["first_name"],
                last_name=person["last_name"],
                birth_date=person.get("birth_date"),
                email=person.get("email"),
                language=person.get("language") or "fr",
                phones=tuple(dict(p) for p in person.get("phones") or ()),
                client_number=person.get("client_number"),
            )
        )
        contact, contact_id = new_ref("contact"), None
    else:
        contact = contact_id = variables["contact_id"]
        if contact_id not in view.contacts:
            errors.add("contact_id", messages.CONTACT_NOT_IN_PROFILE)

    owner_id, org_relation_id, wanted = _wanted_grants(variables, view, errors)
    errors.raise_if_any()

    relation_type = variables.get("relation_type")
    existing_relation = None
    if contact_id is not None:
        held_relations = view.relations_of(contact_id)
        existing_relation = next(
            (r for r in held_relations if relation_type is None or r.type == relation_type),
            None,
        )
    if existing_relation is None and relation_type is None:
        # A delegation without a relation type, on a contact with no relation left to the firm.
        errors.add("relation_type", messages.REQUIRED)
        errors.raise_if_any()
    relation: Ref
    if existing_relation is not None:
        relation = existing_relation.id
    else:
        operations.append(
            AddContactRelation(
                ref="relation",
                contact=contact,
                organisation_id=firm_id,
                type=str(relation_type),
                start_date=variables.get("start_date") or options.date(),
                end_date=variables.get("end_date") or END_OF_TIME,
            )
        )
        relation = new_ref("relation")

    held = {
        g.subject_code: g
        for g in (view.grants_of(contact_id) if contact_id is not None else ())
        if g.owner_organisation_id == owner_id
        and g.contact_relation_id == relation
        and g.organisation_relation_id == org_relation_id
    }
    for code, right in wanted:
        current = held.get(code)
        if current is not None and RIGHT_RANK[current.right] >= RIGHT_RANK[right]:
            continue
        if current is not None:
            operations.append(RevokeGrant(grant_id=current.id))
        operations.append(
            GrantSubject(
                contact=contact,
                subject_code=code,
                owner_organisation_id=owner_id,
                right=right,
                contact_relation=relation,
                organisation_relation_id=org_relation_id,
            )
        )

    if creates_person and operations:
        operations.append(IssueLinkingCredentials(contact=contact, organisation_id=firm_id))
    return operations


def new_person(variables: Mapping[str, Any]) -> dict[str, Any] | None:
    """The new member, when *Le contact n'existe pas* is checked."""
    if not variables.get("contact_does_not_exist") or not variables.get("new_contact"):
        return None
    person = variables["new_contact"]
    birth_date = person.get("birth_date")
    if isinstance(birth_date, str):
        birth_date = dt.date.fromisoformat(birth_date)
    return {
        "first_name": person.get("first_name"),
        "last_name": person.get("last_name"),
        "birth_date": birth_date,
        "email": person.get("email"),
        "phones": [phone_e164(p) for p in person.get("phones") or ()],
        "client_number": person.get("client_number"),
    }


NEW_CONTACT_FIELDS = (
    Field(
        "first_name",
        "text",
        "Prénom",
        "First name",
        required=True,
        value=partial(Text, max_length=100),
    ),
    Field(
        "last_name", "text", "Nom", "Last name", required=True, value=partial(Text, max_length=100)
    ),
    Field(
        "birth_date",
        "date",
        "Date de naissance",
        "Date of birth",
        required=True,
        value=birth_date_value,
    ),
    Field(
        "email",
        "text",
        "Adresse courriel",
        "Email address",
        required=True,
        value=Email,
        help_fr=(
            "Assurez-vous que l'adresse courriel est valide : les coordonnées de liaison y seront "
            "envoyées."
        ),
        help_en="Make sure the email address is valid: the linking credentials are sent to it.",
    ),
    Field(
        "language",
        "choice",
        "Langue de communication",
        "Language of communication",
        default="fr",
        choices=choices_of(LANGUAGES),
    ),
    phones_description(),
    Field(
        "client_number",
        "text",
        "Numéro de client",
        "Client number",
        help_fr=(
            "Si votre membre a déjà un numéro de client, inscrivez-le. Le système vérifiera s'il "
            "existe un doublon et un agent validera l'inscription du membre."
        ),
        help_en=(
            "If your member already has a client number, enter it. The system checks for a "
            "duplicate and an agent validates the member's registration."
        ),
        value=ClientNumber,
    ),
)

FIELDS = (
    contact_description(shown_when=_EXISTING),
    Field(
        "contact_does_not_exist",
        "boolean",
        "Le contact n'existe pas",
        "The contact does not exist",
        default=False,
    ),
    Field(
        "new_contact",
        "group",
        "Informations personnelles du nouveau membre",
        "The new member's personal information",
        required=True,
        shown_when=_NEW,
        fields=NEW_CONTACT_FIELDS,
    ),
    Field(
        "relation_type",
        "choice",
        "Choisir la relation à ajouter",
        "Choose the relation to add",
        # Not asked when delegating a client's subjects to an existing contact (the guide's
        # "Une autre organisation" steps): the contact's relation to the firm carries the grants;
        # one given then picks which of the contact's relations does.
        required=True,
        accepted_when_hidden=True,
        choices=choices_of({code: RELATION_LABELS[code] for code in RELATION_TYPES}),
        shown_when={"any": [_OWN, _NEW]},
        help_fr="Relation à ajouter",
        help_en="Relation to add",
    ),
    Field("start_date", "date", "Date de début", "Start date", default=TODAY),
    Field(
        "end_date",
        "date",
        "Date de fin",
        "End date",
        default=END_OF_TIME,
        help_fr="Sauf exception, laissez la date de fin telle qu'elle apparaît par défaut.",
        help_en="Unless there is a reason to, keep the default end date.",
    ),
    Field(
        "other_organisation",
        "boolean",
        "Une autre organisation",
        "Another organisation",
        default=False,
        help_fr=(
            "Cochez pour déléguer au contact des sujets autorisés sur le dossier d'une "
            "organisation en relation avec la vôtre (un client)."
        ),
        help_en=(
            "Check to delegate to the contact authorized subjects on the file of an organisation "
            "related to yours (a client)."
        ),
    ),
    Field(
        "subjects",
        "subjects",
        "Sujets autorisés en lecture et écriture (sélectionnez tous les sujets qui s'appliquent)",
        "Authorized subjects in read and write (select every subject that applies)",
        many=True,
        default=(),
        choices_source="subjects",
        shown_when=_OWN,
        help_fr="Quel(s) sujet(s) autorisé(s) désirez-vous ajouter?",
        help_en="Which authorized subject(s) do you want to add?",
    ),
    Field(
        "read_subjects",
        "subjects",
        "Sujets autorisés en lecture seulement",
        "Authorized subjects in read only",
        many=True,
        default=(),
        choices_source="subjects",
        shown_when=_OWN,
    ),
    Field(
        "related_organisation_id",
        "organisation",
        "Choisir l'organisation en relation",
        "Choose the related organisation",
        required=True,
        choices_source="profile.related_organisations",
        shown_when=_OTHER,
    ),
    Field(
        "organisation_subjects",
        "subjects",
        "Sujets autorisés en lecture et écriture (sélectionnez tous les sujets qui s'appliquent)",
        "Authorized subjects in read and write (select every subject that applies)",
        many=True,
        default=(),
        choices_source="related_organisation.subjects.write",
        choices_depend_on="related_organisation_id",
        shown_when=_OTHER,
        help_fr=(
            "Seuls les sujets que votre organisation détient sur ce dossier peuvent être délégués."
        ),
        help_en="Only the subjects your organisation holds on this file can be delegated.",
    ),
    Field(
        "organisation_read_subjects",
        "subjects",
        "Sujets autorisés en lecture seulement",
        "Authorized subjects in read only",
        many=True,
        default=(),
        choices_source="related_organisation.subjects.read",
        choices_depend_on="related_organisation_id",
        shown_when=_OTHER,
    ),
)

FORM = profile_form(
    SLUG,
    CATEGORY_AUTORISATIONS,
    title=(
        "Ajouter une relation ou des sujets autorisés à un contact",
        "Add a relation or authorized subjects to a contact",
    ),
    description=(
        "Ce formulaire permet d'ajouter une relation ou des sujets autorisés à un contact d'une "
        "organisation.",
        "This form adds a relation or authorized subjects to a contact of an organisation.",
    ),
    notes=(
        (
            "Seules les personnes possédant les autorisations requises (personnes responsables, "
            "administratrices, dirigeantes, etc.) peuvent ajouter une relation ou des sujets "
            "autorisés à un contact d'une organisation.",
            "Only persons with the required authority (persons in charge, administrators, "
            "officers, etc.) can add a relation or authorized subjects to a contact of an "
            "organisation.",
        ),
        (
            "Un nouveau contact recevra un courriel contenant ses coordonnées de liaison à la "
            "suite de cette opération.",
            "A new contact receives an email with their linking credentials once this is done.",
        ),
    ),
    fields=FIELDS,
    attestations=(
        ATTESTATION,
        attestation_description("attestation_consent", CONSENT_FR, CONSENT_EN),
    ),
    rules=rules,
    validation_rule="client_number_or_candidates",
    popular=True,
    build=build,
    person=new_person,
)
