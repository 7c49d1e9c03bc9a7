"""Pieces shared by the forms: vocabulary, the fields several forms declare, and their rules.

The profile store's vocabulary (relation types, subject categories, rights and their labels) is
defined once in ``forms.profile`` and re-exported here; the form-only words (phone types,
provinces, languages) are defined here. The rule of each value (text, names, client numbers,
emails, phones, postal codes) is in ``forms.fields``, shared with the import and the accounts;
the fields here apply it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from marshmallow import ValidationError, fields, missing

from . import messages
from .base import (
    Builder,
    Choice,
    ErrorCollector,
    Field,
    FormDefinition,
    FormRules,
    PersonExtractor,
    Submission,
    ValidationRule,
    current_date,
    schema_of,
)
from .fields import (
    check_country_code,
    check_extension,
    national_digits,
    normalise_phone_number,
    normalise_postal_code,
)
from .profile import (  # noqa: F401 - re-exported: the forms read the vocabulary from here
    RELATION_LABELS,
    RIGHT_LABELS,
    SUBJECT_CATEGORY_LABELS,
    SUBJECT_CATEGORY_ORDER,
    VIEW_PARTS,
    ViewPart,
)

# ID_RANGE, INVALID_ID, MAX_ID and Email are re-exported for the service (``catalogue_svc.schemas``,
# ``accounts.schemas``, ``web``).
from .values import ID_RANGE, INVALID_ID, MAX_ID, Email, Text  # noqa: F401

# --------------------------------------------------------------------------- vocabulary

CATALOGUE_PROFIL = ("profil", "Profil", "Profile")
CATEGORY_DOSSIER_CLIENT = ("dossier_client", "Dossier client", "Client file")
CATEGORY_AUTORISATIONS = ("autorisations", "Autorisations", "Authorizations")


LANGUAGES: Mapping[str, tuple[str, str]] = {
    "fr": ("Français", "French"),
    "en": ("English", "English"),
}

PHONE_TYPES: Mapping[str, tuple[str, str]] = {
    "cellulaire": ("Cellulaire", "Mobile"),
    "bureau": ("Bureau", "Office"),
    "domicile": ("Domicile", "Home"),
    "telecopieur": ("Télécopieur", "Fax"),
    "autre": ("Autre", "Other"),
}

NORTH_AMERICA = "Amérique du Nord"
INTERNATIONAL = "International"
TERRITORIES: Mapping[str, tuple[str, str]] = {
    NORTH_AMERICA: (NORTH_AMERICA, "North America"),
    INTERNATIONAL: (INTERNATIONAL, "International"),
}

PROVINCES: Mapping[str, tuple[str, str]] = {
    "QC": ("Québec", "Quebec"),
    "ON": ("Ontario", "Ontario"),
    "NB": ("Nouveau-Brunswick", "New Brunswick"),
    "NS": ("Nouvelle-Écosse", "Nova Scotia"),
    "PE": ("Île-du-Prince-Édouard", "Prince Edward Island"),
    "NL": ("Terre-Neuve-et-Labrador", "Newfoundland and Labrador"),
    "MB": ("Manitoba", "Manitoba"),
    "SK": ("Saskatchewan", "Saskatchewan"),
    "AB": ("Alberta", "Alberta"),
    "BC": ("Colombie-Britannique", "British Columbia"),
    "YT": ("Yukon", "Yukon"),
    "NT": ("Territoires du Nord-Ouest", "Northwest Territories"),
    "NU": ("Nunavut", "Nunavut"),
}

COUNTRIES: Mapping[str, tuple[str, str]] = {
    "CA": ("Canada", "Canada"),
    "US": ("États-Unis", "United States"),
}

# The attestation of the removal form, word for word from the guide; the modification form's
# declaration is its first sentence.
ATTESTATION_FR = (
    "J'atteste que les modifications demandées sont exactes et, le cas échéant, je confirme avoir "
    "joint les documents nécessaires au traitement de ma demande et je consens à ce que les "
    "modifications soient effectives dans mon dossier."
)
ATTESTATION_EN = (
    "I attest that the requested changes are accurate and, where applicable, I confirm that I have "
    "attached the documents needed to process my request, and I consent to the changes taking "
    "effect in my file."
)
DECLARATION_FR = (
    "J'atteste que les modifications demandées sont exactes et, le cas échéant, je confirme avoir "
    "joint les documents nécessaires au traitement de ma demande."
)
DECLARATION_EN = (
    "I attest that the requested changes are accurate and, where applicable, I confirm that I have "
    "attached the documents needed to process my request."
)


def choices_of(table: Mapping[str, tuple[str, str]]) -> tuple[Choice, ...]:
    """Static choices from a ``code -> (label_fr, label_en)`` table."""
    return tuple(Choice(code, fr, en) for code, (fr, en) in table.items())


# --------------------------------------------------------------------------- phones


def _rule(errors: ErrorCollector, name: str, check: Callable[..., object], *args: Any) -> bool:
    """Run one value rule of ``forms.fields``; its French message goes to ``name``."""
    try:
        check(*args)
    except ValidationError as exc:
        for message in exc.messages:
            errors.add(name, str(message))
        return False
    return True


def check_phone(submitted: Submission, errors: ErrorCollector) -> None:
    """A phone's country code (+1 in *Amérique du Nord*), its number for that code, its
    extension."""
    data = submitted.data
    code = data.get("country_code")
    code_ok = code is None or _rule(errors, "country_code", check_country_code, code)
    if code_ok and data.get("territory") == NORTH_AMERICA and code not in (None, "+1"):
        errors.add("country_code", messages.PHONE_TERRITORY_CODE)
    if data.get("number") is not None:
        _rule(errors, "number", normalise_phone_number, data["number"], code or "")
    if data.get("extension") is not None:
        _rule(errors, "extension", check_extension, data["extension"])


def normalise_phone(data: dict[str, Any]) -> dict[str, Any]:
    """The number as stored: ``514 555-0101`` under +1, the digits elsewhere."""
    data["number"] = normalise_phone_number(data["number"], data["country_code"])
    return data


def phone_e164(phone: Mapping[str, Any]) -> str:
    """``+15145550101`` from a phone dict."""
    digits = national_digits(str(phone["number"]), str(phone["country_code"]))
    return f"{phone['country_code']}{digits}"


def format_phone(phone: Mapping[str, Any]) -> str:
    """``+1 514 555-0101`` (and ``poste 12``) from a phone dict: how an organisation stores it."""
    text = f"{phone['country_code']} {phone['number']}"
    if phone.get("extension"):
        text += f" poste {phone['extension']}"
    return text


PHONE_FIELDS: tuple[Field, ...] = (
    Field(
        "type",
        "choice",
        "Type de numéro de téléphone",
        "Phone number type",
        required=True,
        choices=choices_of(PHONE_TYPES),
    ),
    Field(
        "territory",
        "choice",
        "Territoire téléphonique",
        "Phone territory",
        default=NORTH_AMERICA,
        choices=choices_of(TERRITORIES),
    ),
    Field("country_code", "text", "Indicatif", "Country code", default="+1", value=fields.String),
    Field(
        "number",
        "text",
        "Numéro de téléphone",
        "Phone number",
        required=True,
        placeholder="999 999-9999",
        value=partial(Text, max_length=30),
    ),
    Field(
        "extension",
        "text",
        "Poste",
        "Extension",
        value=partial(Text, max_length=10, blank_is_none=True),
    ),
)

# One phone number: type, territory, country code, number (999 999-9999), extension.
PhoneSchema = schema_of(PHONE_FIELDS, name="PhoneSchema", rules=check_phone, finish=normalise_phone)


def phones_description(*, shown_when: Mapping[str, Any] | None = None) -> Field:
    """The *phones* field: the main number first, then *Ajouter un autre numéro de téléphone*."""
    return Field(
        "phones",
        "phones",
        "Numéro de téléphone principal",
        "Main phone number",
        many=True,
        fields=PHONE_FIELDS,
        rules=check_phone,
        finish=normalise_phone,
        load_default=(),
        shown_when=shown_when,
        current_value_source="contact.phones",
        help_fr=(
            "Le premier numéro est le numéro principal. Ajouter un autre numéro de téléphone : "
            "ajoutez un élément à la liste. La liste fournie remplace les numéros actuels."
        ),
        help_en=(
            "The first number is the main one. Add another phone number: add an item to the list. "
            "The list replaces the current numbers."
        ),
    )


# --------------------------------------------------------------------------- addresses


def _check_address(submitted: Submission, errors: ErrorCollector) -> None:
    """A two-letter country; in Canada, a province and an ``A1A 1A1`` postal code."""
    data = submitted.data
    country = data.get("country")
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        errors.add("country", messages.COUNTRY)
    if country is not None and country.upper() == "CA":
        province = data.get("province")
        if province is not None and province.upper() not in PROVINCES:
            errors.add("province", messages.PROVINCE)
        if data.get("postal_code") is not None:
            _rule(errors, "postal_code", normalise_postal_code, data["postal_code"])


def _normalise_address(data: dict[str, Any]) -> dict[str, Any]:
    """Country in upper case; in Canada the province too and the postal code ``A1A 1A1``."""
    data["country"] = data["country"].upper()
    if data["country"] == "CA":
        data["province"] = data["province"].upper()
        data["postal_code"] = normalise_postal_code(data["postal_code"])
    return {k: v for k, v in data.items() if v is not None}


ADDRESS_FIELDS: tuple[Field, ...] = (
    Field(
        "street",
        "text",
        "Numéro et rue",
        "Street address",
        required=True,
        value=partial(Text, max_length=200),
    ),
    Field(
        "unit",
        "text",
        "Appartement, bureau",
        "Apartment, suite",
        value=partial(Text, max_length=30, blank_is_none=True),
    ),
    Field("city", "text", "Ville", "City", required=True, value=partial(Text, max_length=100)),
    Field(
        "province",
        "choice",
        "Province ou territoire",
        "Province or territory",
        default="QC",
        choices=choices_of(PROVINCES),
        help_fr="Hors du Canada : l'État ou la région, en texte libre.",
        help_en="Outside Canada: the state or region, free text.",
        # Free text outside Canada: the provinces are checked for a Canadian address only.
        value=partial(Text, max_length=60),
    ),
    Field(
        "postal_code",
        "text",
        "Code postal",
        "Postal code",
        required=True,
        placeholder="A1A 1A1",
        value=partial(Text, max_length=20),
    ),
    Field(
        "country",
        "choice",
        "Pays",
        "Country",
        default="CA",
        choices=choices_of(COUNTRIES),
        help_fr="Code de pays de deux lettres (ISO 3166).",
        help_en="Two-letter country code (ISO 3166).",
        value=partial(Text, max_length=2),
    ),
)


def address_description(current_value_source: str) -> Field:
    """The *address* field of the address forms: a postal address; a Canadian one has a
    province and an ``A1A 1A1`` postal code."""
    return Field(
        "address",
        "address",
        "Nouvelle adresse",
        "New address",
        required=True,
        fields=ADDRESS_FIELDS,
        rules=_check_address,
        finish=_normalise_address,
        current_value_source=current_value_source,
    )


# --------------------------------------------------------------------------- persons


def check_birth_date(value: dt.date) -> None:
    """A birth date in the past, after 1900."""
    if value > current_date():
        raise ValidationError(messages.BIRTH_DATE_FUTURE)
    if value < dt.date(1900, 1, 1):
        raise ValidationError(messages.BIRTH_DATE_TOO_OLD)


# A birth date's value: a date, in the past, after 1900.
birth_date_value = partial(fields.Date, validate=check_birth_date)


def attestation_description(name: str, text_fr: str, text_en: str) -> Field:
    """A box that must be checked to submit."""
    return Field(name, "attestation", text_fr, text_en, required=True, default=False)


def contact_description(*, shown_when: Mapping[str, Any] | None = None) -> Field:
    """*Contact dans ce profil*: the existing contact the relation forms are about."""
    return Field(
        "contact_id",
        "contact",
        "Contact dans ce profil",
        "Contact in this profile",
        required=True,
        choices_source="profile.contacts",
        shown_when=shown_when,
        help_fr="Rechercher un contact",
        help_en="Search for a contact",
    )


def language_change(
    current_value_source: str, *, shown_when: Mapping[str, Any] | None = None
) -> Field:
    """*Langue de communication* in a modification form: no value keeps the current one."""
    return Field(
        "language",
        "choice",
        "Langue de communication",
        "Language of communication",
        choices=choices_of(LANGUAGES),
        shown_when=shown_when,
        current_value_source=current_value_source,
        help_fr="« - Aucun - » (aucune valeur) conserve la valeur actuelle.",
        help_en="“- None -” (no value) keeps the current value.",
    )


def profile_description() -> Field:
    """*Profil concerné*: the profile the request is for (the one in the URL; checked).

    Absent stays absent (the service compares it with the URL's when given)."""
    return Field(
        "profile_id",
        "organisation",
        "Profil concerné",
        "Profile concerned",
        choices_source="account.profiles",
        help_fr="Le profil de votre organisation; il doit être celui de la demande.",
        help_en="Your organisation's profile; it must be the request's.",
        load_default=missing,
    )


# The boxes a profile form ends with: the modification forms' *Déclaration*, the removal's
# attestation.
DECLARATION = attestation_description("attestation", DECLARATION_FR, DECLARATION_EN)
ATTESTATION = attestation_description("attestation", ATTESTATION_FR, ATTESTATION_EN)

Texts = tuple[str, str]


def profile_form(
    slug: str,
    category: tuple[str, str, str],
    *,
    title: Texts,
    description: Texts,
    fields: tuple[Field, ...],
    build: Builder,
    popular: bool,
    attestations: tuple[Field, ...] = (DECLARATION,),
    notes: tuple[Texts, ...] = (),
    rules: FormRules | None = None,
    validation_rule: ValidationRule = "never",
    view_parts: frozenset[ViewPart] = VIEW_PARTS,
    person: PersonExtractor | None = None,
) -> FormDefinition:
    """A form of the *Profil* catalogue, which a person with authority on the firm submits: the
    *Profil concerné* first, then ``fields``, then the boxes to check. Each text is
    ``(French, English)``."""
    return FormDefinition(
        slug=slug,
        version=1,
        catalogue=CATALOGUE_PROFIL[0],
        catalogue_label_fr=CATALOGUE_PROFIL[1],
        catalogue_label_en=CATALOGUE_PROFIL[2],
        category=category[0],
        category_label_fr=category[1],
        category_label_en=category[2],
        title_fr=title[0],
        title_en=title[1],
        description_fr=description[0],
        description_en=description[1],
        notes_fr=tuple(fr for fr, _ in notes),
        notes_en=tuple(en for _, en in notes),
        fields=(profile_description(), *fields, *attestations),
        rules=rules,
        validation_rule=validation_rule,
        requires_authority=True,
        popular=popular,
        build=build,
        view_parts=view_parts,
        person=person,
    )
