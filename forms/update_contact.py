"""*Modifier les informations personnelles et les coordonnées d'un individu autorisé…*

Full title: *… ou d'un contact*; catalogue Profil › Dossier client. The guide (Étapes 5 and 6):
choose the *Individu autorisé ou contact dans ce profil*, tick *Que désirez-vous modifier?*
(*Coordonnées de communication*, *Informations personnelles*, *Date de fin d'une relation*) and
change:

- the language of communication (*- Aucun -* keeps the current value) and the phones, one by one
  (each shown with its *Valeur actuelle*): ``phones`` items with the ``id`` of one of the
  contact's phones change that phone (the values given replace its own, the others are kept),
  items without ``id`` add a phone (type, territory — *Amérique du Nord* —, country code +1,
  number 999 999-9999: *Ajouter un autre numéro de téléphone*), ``remove_phone_ids`` removes
  phones. A phone the submission does not name is kept: the form never deletes what the
  submitter did not see. A contact keeps at least one means of communication (a phone, or an
  email). The email is **not** editable here: any ``email`` gets *"L'adresse courriel est
  modifiable dans la section Paramètres du compte."*;
- first name, last name, date of birth;
- the end date of one of the contact's relations with the firm (not before its start date, not in
  the past: ending a relation now is the removal form's job);

and *Émettre un nouveau code de liaison* (reissue and email linking credentials), then the
*Déclaration*. The member receives a confirmation email of the changes (``NotifyContact``, template
``modification_confirmation``) and, when asked, new linking credentials.

Who may submit: a person with authority (responsable, administrateur du dossier, dirigeant) on the
firm, for any contact of the firm.

Submissions stored before phones were named by id carried ``phones`` as the whole new list (it
replaced the contact's numbers). Their items have no ``id``, so an apply of such a request now
adds the numbers the contact does not already have and removes none: the safe reading of a list
whose submitter did not see the current numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from marshmallow import ValidationError, fields, missing, validate

from . import messages
from .base import (
    DISPLAY_ONLY_TYPES,
    BuildOptions,
    ErrorCollector,
    Field,
    Submission,
    current_date,
    schema_of,
)
from .changeset import (
    AddPhone,
    ChangePhone,
    IssueLinkingCredentials,
    NotifyContact,
    Operation,
    RemovePhone,
    UpdateContact,
    UpdateRelationEndDate,
)
from .common import (
    CATEGORY_DOSSIER_CLIENT,
    PHONE_FIELDS,
    PhoneSchema,
    birth_date_value,
    choices_of,
    language_change,
    profile_form,
)
from .profile import ContactInfo, PhoneInfo, ProfileView
from .values import Text, id_field, unique_items

SLUG = "update-contact"
TEMPLATE = "modification_confirmation"

COORDONNEES = "coordonnees"
PERSONAL = "informations_personnelles"
RELATION_END = "date_fin_relation"

SECTIONS: Mapping[str, tuple[str, str]] = {
    COORDONNEES: ("Coordonnées de communication", "Communication details"),
    PERSONAL: ("Informations personnelles", "Personal information"),
    RELATION_END: ("Date de fin d'une relation", "End date of a relation"),
}

RELATION_END_IN_PAST = (
    "La date de fin ne peut pas être dans le passé : pour retirer une relation dès maintenant, "
    "utilisez le formulaire « Retirer une relation ou des sujets autorisés à un contact »."
)


PHONE_NOT_OF_CONTACT = "Ce téléphone n'appartient pas à ce contact."
PHONE_CHANGED_AND_REMOVED = "Ce téléphone ne peut pas être à la fois modifié et retiré."
PHONE_NAMED_TWICE = "Ce téléphone est nommé plus d'une fois dans la liste."
NO_MEANS_OF_CONTACT = (
    "Ce contact n'aurait plus aucun moyen de communication : il n'a pas d'adresse courriel, "
    "gardez ou ajoutez au moins un numéro de téléphone."
)


PHONE_ID = Field(
    "id",
    "choice",
    "Numéro actuel à modifier",
    "Current number to change",
    choices_source="contact.phones",
    choices_depend_on="contact_id",
    help_fr="Vide : le numéro est ajouté (Ajouter un autre numéro de téléphone).",
    help_en="Empty: the number is added (Add another phone number).",
    value=id_field,
    load_default=missing,
)


def _check_phone_edit(submitted: Submission, errors: ErrorCollector) -> None:
    """A new phone (no ``id``) has the values a phone requires."""
    if "id" in submitted.data or "id" in submitted.original:
        return
    for spec in PHONE_FIELDS:
        if spec.required and spec.name not in submitted.original:
            errors.add(spec.name, messages.REQUIRED)


def _finish_phone_edit(data: dict[str, Any]) -> dict[str, Any]:
    """A new phone checked, normalised and completed as any phone (territory *Amérique du Nord*
    and country code +1 by default); a change, whose missing values are the phone's current
    ones, is checked when the changeset merges it with them."""
    if "id" in data:
        return data
    loaded: dict[str, Any] = PhoneSchema().load(data)
    return loaded


# One item of ``phones``: with ``id``, a change of that phone of the contact (the values given
# replace its own, the others are kept); without, a new phone. Every value is optional here (a
# change gives only what changes): the rules above require and complete a new phone's.
PhoneEditSchema = schema_of(
    (PHONE_ID, *(replace(f, required=False, load_default=missing) for f in PHONE_FIELDS)),
    name="PhoneEditSchema",
    rules=_check_phone_edit,
    finish=_finish_phone_edit,
)


def rules(submitted: Submission, errors: ErrorCollector) -> None:
    """The email is changed elsewhere; a section of optional fields chosen changes one; each
    section once; a relation's new end not in the past."""
    if "email" in submitted.original:
        errors.add("email", messages.EMAIL_NOT_EDITABLE)
    for section, (label, _) in SECTIONS.items():
        specs = SECTION_FIELDS[section]
        if (
            submitted.met(_SHOWN[section])
            and not any(f.required for f in specs)
            and all(submitted.original.get(f.name) is None for f in specs)
        ):
            errors.add("sections", messages.SECTION_EMPTY.format(label))
    sections = submitted.data.get("sections") or ()
    if len(set(sections)) != len(sections):
        errors.add("sections", messages.DUPLICATE_VALUE)
    end = submitted.data.get("relation_end_date")
    if end is not None and end < current_date():
        errors.add("relation_end_date", RELATION_END_IN_PAST)


def contact_of(variables: Mapping[str, Any], view: ProfileView) -> ContactInfo:
    """The contact the form modifies; a FormValidationError when it is not of the profile."""
    contact = view.contacts.get(variables["contact_id"])
    if contact is None:
        errors = ErrorCollector()
        errors.add("contact_id", messages.CONTACT_NOT_IN_PROFILE)
        errors.raise_if_any()
    assert contact is not None  # for the type checker: raise_if_any raised otherwise
    return contact


def confirmation(
    view: ProfileView, contact: ContactInfo, changes: list[str], *, linking_credentials: bool
) -> list[Operation]:
    """The email confirming ``changes`` to the contact, when the contact has an address."""
    if not changes or not contact.email:
        return []
    params = {
        "organisation_id": view.organisation.id,
        "organisation_name": view.organisation.name,
        "changes": changes,
        "linking_credentials": linking_credentials,
    }
    return [NotifyContact(contact=contact.id, template=TEMPLATE, params=params)]


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The changes that differ from the current values, the confirmation, the credentials."""
    errors = ErrorCollector()
    contact = contact_of(variables, view)
    contact_id = contact.id

    operations: list[Operation] = []
    changes: dict[str, Any] = {}
    current = {
        "language": contact.language,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "birth_date": contact.birth_date,
    }
    for name, value in current.items():
        new = variables.get(name)
        if new is not None and new != value:
            changes[name] = new
    if changes:
        operations.append(UpdateContact(contact_id=contact_id, changes=changes))
    changed = sorted(changes)

    phone_operations = _phone_operations(variables, contact, errors)
    if phone_operations:
        operations.extend(phone_operations)
        changed.append("phones")

    relation_id = variables.get("relation_id")
    end_date = variables.get("relation_end_date")
    if relation_id is not None and end_date is not None:
        relation = next((r for r in view.relations_of(contact_id) if r.id == relation_id), None)
        if relation is None:
            errors.add("relation_id", messages.RELATION_NOT_OF_CONTACT.format(relation_id))
        elif end_date < relation.start_date:
            errors.add("relation_end_date", messages.END_BEFORE_START)
        elif end_date != relation.end_date:
            operations.append(UpdateRelationEndDate(relation_id=relation_id, end_date=end_date))
            changed.append("relation_end_date")

    issue = bool(variables.get("issue_linking_code"))
    if issue and not contact.email:
        errors.add("issue_linking_code", messages.NO_EMAIL_FOR_CREDENTIALS)
    errors.raise_if_any()

    if issue:
        operations.append(
            IssueLinkingCredentials(contact=contact_id, organisation_id=view.organisation.id)
        )
    operations.extend(confirmation(view, contact, changed, linking_credentials=issue))
    return operations


def _merged_phone(
    path: str, current: PhoneInfo, given: Mapping[str, Any], errors: ErrorCollector
) -> dict[str, Any] | None:
    """A phone's new values: the ones given over its current ones, checked as a whole (a new
    number must suit the phone's country code…); None, with the errors, when they do not."""
    merged = {**current.to_dict(), **{k: v for k, v in given.items() if k != "id"}}
    try:
        loaded: dict[str, Any] = PhoneSchema().load(merged)
    except ValidationError as exc:
        for field, texts in messages.translate_errors(exc.messages).items():
            for text in texts:
                errors.add(f"{path}.{field}", text)
        return None
    return loaded


def _phone_operations(
    variables: Mapping[str, Any], contact: ContactInfo, errors: ErrorCollector
) -> list[Operation]:
    """The phones named, and only them: changes, then additions, then removals (so that a
    replacement of the only phone never leaves the contact without one, even for a moment).

    A phone id that is not one of the contact's (another contact's, unknown) is refused, naming
    the item; a change to the current values and an addition of a number the contact already
    has change nothing.
    """
    current = {p.id: p for p in contact.phones if p.id is not None}
    given = list(variables.get("phones") or ())
    removed = list(variables.get("remove_phone_ids") or ())
    changes: list[Operation] = []
    additions: list[Operation] = []
    removals: list[Operation] = []
    changed_ids: set[int] = set()
    kept_dicts = [p.to_dict() for p in contact.phones]
    for index, item in enumerate(given):
        path = f"phones.{index}"
        phone_id = item.get("id")
        if phone_id is None:
            phone = dict(item)
            if phone not in kept_dicts:
                kept_dicts.append(phone)
                additions.append(AddPhone(contact_id=contact.id, phone=phone))
            continue
        if phone_id not in current:
            errors.add(f"{path}.id", PHONE_NOT_OF_CONTACT)
            continue
        if phone_id in changed_ids:
            errors.add(f"{path}.id", PHONE_NAMED_TWICE)
            continue
        changed_ids.add(phone_id)
        if phone_id in removed:
            errors.add(f"{path}.id", PHONE_CHANGED_AND_REMOVED)
            continue
        merged = _merged_phone(path, current[phone_id], item, errors)
        if merged is not None and merged != current[phone_id].to_dict():
            changes.append(ChangePhone(contact_id=contact.id, phone_id=phone_id, phone=merged))
    for index, phone_id in enumerate(removed):
        if phone_id not in current:
            errors.add(f"remove_phone_ids.{index}", PHONE_NOT_OF_CONTACT)
        else:
            removals.append(RemovePhone(contact_id=contact.id, phone_id=phone_id))
    left = len(current) + len(additions) - len(removals)
    if removals and left <= 0 and not contact.email:
        errors.add("remove_phone_ids", NO_MEANS_OF_CONTACT)
    return [*changes, *additions, *removals]


_SHOWN = {section: {"field": "sections", "contains": section} for section in SECTIONS}

# The contact a modification of a contact is about (this form's and the address form's).
CONTACT_FIELD = Field(
    "contact_id",
    "contact",
    "Individu autorisé ou contact dans ce profil",
    "Authorized individual or contact in this profile",
    required=True,
    choices_source="profile.contacts",
)

FIELDS = (
    CONTACT_FIELD,
    Field(
        "sections",
        "multi_choice",
        "Que désirez-vous modifier?",
        "What do you want to change?",
        many=True,
        default=(),
        choices=choices_of(SECTIONS),
        help_fr="Sélectionnez le type d'informations à mettre à jour parmi les options suivantes.",
        help_en="Select the kind of information to update among the following options.",
    ),
    language_change("contact.language", shown_when=_SHOWN[COORDONNEES]),
    Field(
        "email",
        "email_notice",
        "Adresse courriel",
        "Email address",
        # Accepted only to answer with the guide's message instead of "unknown field".
        value=fields.Raw,
        shown_when=_SHOWN[COORDONNEES],
        current_value_source="contact.email",
        help_fr=messages.EMAIL_NOT_EDITABLE,
        help_en="The email address can be changed in the Account settings section.",
    ),
    Field(
        "phones",
        "phones",
        "Numéros de téléphone",
        "Phone numbers",
        many=True,
        fields=(PHONE_ID, *PHONE_FIELDS),
        value=partial(fields.List, fields.Nested(PhoneEditSchema), validate=validate.Length(min=1)),
        shown_when=_SHOWN[COORDONNEES],
        current_value_source="contact.phones",
        help_fr=(
            "Un numéro qui nomme un numéro actuel (id) le modifie : les valeurs indiquées "
            "remplacent les siennes, les autres sont conservées. Un numéro sans id est ajouté. "
            "Les numéros actuels qui ne sont pas nommés sont conservés."
        ),
        help_en=(
            "A number naming a current one (id) changes it: the values given replace its own, "
            "the others are kept. A number without id is added. Current numbers not named are "
            "kept."
        ),
    ),
    Field(
        "remove_phone_ids",
        "multi_choice",
        "Numéros de téléphone à retirer",
        "Phone numbers to remove",
        many=True,
        value=partial(fields.List, id_field(), validate=[unique_items, validate.Length(min=1)]),
        choices_source="contact.phones",
        choices_depend_on="contact_id",
        shown_when=_SHOWN[COORDONNEES],
        current_value_source="contact.phones",
        help_fr=("Un contact sans adresse courriel garde au moins un numéro de téléphone."),
        help_en="A contact without an email address keeps at least one phone number.",
    ),
    Field(
        "first_name",
        "text",
        "Prénom",
        "First name",
        value=partial(Text, max_length=100),
        shown_when=_SHOWN[PERSONAL],
        current_value_source="contact.first_name",
    ),
    Field(
        "last_name",
        "text",
        "Nom",
        "Last name",
        value=partial(Text, max_length=100),
        shown_when=_SHOWN[PERSONAL],
        current_value_source="contact.last_name",
    ),
    Field(
        "birth_date",
        "date",
        "Date de naissance",
        "Date of birth",
        value=birth_date_value,
        shown_when=_SHOWN[PERSONAL],
        current_value_source="contact.birth_date",
    ),
    Field(
        "relation_id",
        "relation",
        "Relation",
        "Relation",
        required=True,
        choices_source="contact.relations",
        choices_depend_on="contact_id",
        shown_when=_SHOWN[RELATION_END],
    ),
    Field(
        "relation_end_date",
        "date",
        "Nouvelle date de fin",
        "New end date",
        required=True,
        shown_when=_SHOWN[RELATION_END],
        current_value_source="relation.end_date",
    ),
    Field(
        "issue_linking_code",
        "boolean",
        "Émettre un nouveau code de liaison",
        "Issue a new linking code",
        default=False,
        help_fr=(
            "Les coordonnées de liaison sont envoyées à l'adresse courriel du contact; les "
            "précédentes ne sont plus valides."
        ),
        help_en=(
            "The linking credentials are sent to the contact's email address; the previous ones "
            "stop working."
        ),
    ),
)

# The fields each section changes: the ones its box shows (the email is only shown).
SECTION_FIELDS: Mapping[str, tuple[Field, ...]] = {
    section: tuple(
        f for f in FIELDS if f.shown_when == _SHOWN[section] and f.type not in DISPLAY_ONLY_TYPES
    )
    for section in SECTIONS
}

FORM = profile_form(
    SLUG,
    CATEGORY_DOSSIER_CLIENT,
    title=(
        "Modifier les informations personnelles et les coordonnées d'un individu autorisé ou "
        "d'un contact",
        "Change the personal information and contact details of an authorized individual or a "
        "contact",
    ),
    description=(
        "Ce formulaire permet de mettre à jour les informations personnelles et les coordonnées "
        "d'un individu autorisé ou d'un contact.",
        "This form updates the personal information and contact details of an authorized "
        "individual or a contact.",
    ),
    notes=(
        (
            "Assurez-vous que l'adresse courriel est valide car c'est à cette adresse que seront "
            "envoyées les coordonnées de liaison.",
            "Make sure the email address is valid: the linking credentials are sent to it.",
        ),
        (
            "Ce membre recevra un courriel confirmant les modifications apportées et, si demandé, "
            "les coordonnées de liaison à utiliser.",
            "The member receives an email confirming the changes and, when asked, the linking "
            "credentials to use.",
        ),
    ),
    fields=FIELDS,
    rules=rules,
    popular=False,
    build=build,
    view_parts=frozenset({"contacts"}),
)
