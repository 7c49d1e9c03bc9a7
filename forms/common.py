"""Pieces shared by the forms: vocabulary, marshmallow fields and schemas, field descriptions.

The profile store's vocabulary (relation types, subject categories, rights and their labels) is
defined once in ``forms.profile`` and re-exported here; the form-only words (phone types,
provinces, languages) are defined here. The rule of each value (text, names, client numbers,
emails, phones, postal codes) is in ``forms.fields``, shared with the import and the accounts;
the fields here apply it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from . import messages
from .base import Choice, Field, current_date
from .fields import (
    NAME_MAX,
    check_country_code,
    check_extension,
    check_text,
    national_digits,
    normalise_client_number,
    normalise_email,
    normalise_name,
    normalise_phone_number,
    normalise_postal_code,
)
from .profile import (  # noqa: F401 - re-exported: the forms read the vocabulary from here
    RELATION_LABELS,
    RIGHT_LABELS,
    SUBJECT_CATEGORY_LABELS,
    SUBJECT_CATEGORY_ORDER,
)

# --------------------------------------------------------------------------- vocabulary

CATALOGUE_PROFIL = ("profil", "Profil", "Profile")
CATEGORY_DOSSIER_CLIENT = ("dossier_client", "Dossier client", "Client file")
CATEGORY_AUTORISATIONS = ("autorisations", "Autorisations", "Authorizations")


class Placement(TypedDict):
    """Where a form stands in the catalogue (keyword arguments of a FormDefinition)."""

    catalogue: str
    catalogue_label_fr: str
    catalogue_label_en: str
    category: str
    category_label_fr: str
    category_label_en: str


def placement(catalogue: tuple[str, str, str], category: tuple[str, str, str]) -> Placement:
    """The catalogue and category keyword arguments of a FormDefinition."""
    return {
        "catalogue": catalogue[0],
        "catalogue_label_fr": catalogue[1],
        "catalogue_label_en": catalogue[2],
        "category": category[0],
        "category_label_fr": category[1],
        "category_label_en": category[2],
    }


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


# --------------------------------------------------------------------------- marshmallow fields


class BaseSchema(Schema):
    """Every form schema: unknown fields are errors, never silently dropped."""

    class Meta:
        unknown = RAISE


class Text(fields.String):
    """A string with surrounding spaces removed; blank is an error (or ``None`` when optional).

    No control or invisible character (``forms.fields.check_text``): a CR/LF typed in a name would
    start a new paragraph of the emails that quote it. ``multiline`` (a comment) keeps ``\n``.
    """

    def __init__(
        self,
        *,
        max_length: int = 200,
        blank_is_none: bool = False,
        multiline: bool = False,
        **kwargs: Any,
    ) -> None:
        self.blank_is_none = blank_is_none
        self.multiline = multiline
        if blank_is_none:
            kwargs.setdefault("allow_none", True)
        super().__init__(validate=validate.Length(max=max_length), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.strip() if isinstance(text, str) else text
        if not text:
            if self.blank_is_none:
                return None
            raise ValidationError(messages.BLANK)
        if self.multiline:
            text = text.replace("\r\n", "\n")
        return check_text(text, multiline=self.multiline)

    def _validate(self, value: Any) -> None:
        # A blank optional text loads as None, which the length check must not see (marshmallow
        # skips validators for a None *input* only): "" used to be a 500.
        if value is not None:
            super()._validate(value)


class ChoiceField(fields.String):
    """A string among fixed codes (``None`` allowed when ``allow_none``)."""

    def __init__(self, codes: Iterable[str], **kwargs: Any) -> None:
        super().__init__(validate=validate.OneOf(list(codes)), **kwargs)


def attestation_field() -> fields.Boolean:
    """A box that must be checked."""
    return fields.Boolean(
        required=True,
        validate=validate.Equal(True, error=messages.ATTESTATION),
    )


# Ids are BIGINTs: beyond 2**63-1 the database driver fails (SQLite raises OverflowError), so a
# larger number is refused like any invalid id. catalogue_svc.schemas.Id reads both from here.
MAX_ID = 2**63 - 1
INVALID_ID = "Doit être un identifiant valide (nombre entier positif)."
ID_RANGE = validate.Range(min=1, max=MAX_ID, error=INVALID_ID)


def id_field(**kwargs: Any) -> fields.Integer:
    """A row id, as a JSON integer from 1 to 2**63-1."""
    return fields.Integer(strict=True, validate=ID_RANGE, **kwargs)


def unique_items(values: Sequence[Any]) -> None:
    """Refuse a list that names the same value twice."""
    if len(set(values)) != len(values):
        raise ValidationError(messages.DUPLICATE_VALUE)


def id_list(**kwargs: Any) -> fields.List:
    """A list of distinct row ids."""
    return fields.List(id_field(), validate=unique_items, **kwargs)


def code_list(**kwargs: Any) -> fields.List:
    """A list of distinct codes (subject codes)."""
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=60)), validate=unique_items, **kwargs
    )


# --------------------------------------------------------------------------- phones


class PhoneSchema(BaseSchema):
    """One phone number: type, territory, country code, number (999 999-9999), extension."""

    type = ChoiceField(PHONE_TYPES, required=True)
    territory = ChoiceField(TERRITORIES, load_default=NORTH_AMERICA)
    country_code = fields.String(load_default="+1")
    number = Text(required=True, max_length=30)
    extension = Text(max_length=10, blank_is_none=True, load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: Mapping[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        code = data.get("country_code")
        if code is not None:
            try:
                check_country_code(code)
            except ValidationError as exc:
                errors["country_code"] = list(exc.messages)
        north_america = data.get("territory") == NORTH_AMERICA
        if "country_code" not in errors and north_america and code not in (None, "+1"):
            errors["country_code"] = [messages.PHONE_TERRITORY_CODE]
        number = data.get("number")
        if number is not None:
            try:
                normalise_phone_number(number, code or "")
            except ValidationError as exc:
                errors["number"] = list(exc.messages)
        extension = data.get("extension")
        if extension is not None:
            try:
                check_extension(extension)
            except ValidationError as exc:
                errors["extension"] = list(exc.messages)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
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


def phones_field(**kwargs: Any) -> fields.List:
    """A list of phone numbers, the main one first."""
    return fields.List(fields.Nested(PhoneSchema), **kwargs)


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
    Field("country_code", "text", "Indicatif", "Country code", default="+1"),
    Field(
        "number",
        "text",
        "Numéro de téléphone",
        "Phone number",
        required=True,
        placeholder="999 999-9999",
    ),
    Field("extension", "text", "Poste", "Extension"),
)


def phones_description(*, shown_when: Mapping[str, Any] | None = None) -> Field:
    """The *phones* field: the main number first, then *Ajouter un autre numéro de téléphone*."""
    return Field(
        "phones",
        "phones",
        "Numéro de téléphone principal",
        "Main phone number",
        many=True,
        fields=PHONE_FIELDS,
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


class AddressSchema(BaseSchema):
    """A postal address; a Canadian one has a province and an ``A1A 1A1`` postal code."""

    street = Text(required=True, max_length=200)
    unit = Text(max_length=30, blank_is_none=True, load_default=None)
    city = Text(required=True, max_length=100)
    province = Text(max_length=60, load_default="QC")
    postal_code = Text(required=True, max_length=20)
    country = Text(max_length=2, load_default="CA")

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: Mapping[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        country = data.get("country")
        if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
            errors["country"] = [messages.COUNTRY]
        if country is not None and country.upper() == "CA":
            province = data.get("province")
            if province is not None and province.upper() not in PROVINCES:
                errors["province"] = [messages.PROVINCE]
            postal = data.get("postal_code")
            if postal is not None:
                try:
                    normalise_postal_code(postal)
                except ValidationError as exc:
                    errors["postal_code"] = list(exc.messages)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["country"] = data["country"].upper()
        if data["country"] == "CA":
            data["province"] = data["province"].upper()
            data["postal_code"] = normalise_postal_code(data["postal_code"])
        return {k: v for k, v in data.items() if v is not None}


ADDRESS_FIELDS: tuple[Field, ...] = (
    Field("street", "text", "Numéro et rue", "Street address", required=True),
    Field("unit", "text", "Appartement, bureau", "Apartment, suite"),
    Field("city", "text", "Ville", "City", required=True),
    Field(
        "province",
        "choice",
        "Province ou territoire",
        "Province or territory",
        default="QC",
        choices=choices_of(PROVINCES),
        help_fr="Hors du Canada : l'État ou la région, en texte libre.",
        help_en="Outside Canada: the state or region, free text.",
    ),
    Field(
        "postal_code",
        "text",
        "Code postal",
        "Postal code",
        required=True,
        placeholder="A1A 1A1",
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
    ),
)


def address_description(current_value_source: str) -> Field:
    """The *address* field of the address forms."""
    return Field(
        "address",
        "address",
        "Nouvelle adresse",
        "New address",
        required=True,
        fields=ADDRESS_FIELDS,
        current_value_source=current_value_source,
    )


# --------------------------------------------------------------------------- persons


def check_birth_date(value: dt.date) -> None:
    """A birth date in the past, after 1900."""
    if value > current_date():
        raise ValidationError(messages.BIRTH_DATE_FUTURE)
    if value < dt.date(1900, 1, 1):
        raise ValidationError(messages.BIRTH_DATE_TOO_OLD)


class ClientNumber(Text):
    """A client number (``forms.fields.normalise_client_number``): spaces dropped, upper case,
    digits, letters and hyphens, as the import and the store hold it; blank means none."""

    def __init__(self, **kwargs: Any) -> None:
        # The length is the rule's (20 once spaces are dropped); this bound only refuses a novel.
        super().__init__(max_length=60, blank_is_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        return normalise_client_number(text)


class Name(Text):
    """A person's name (``forms.fields.normalise_name``): the rule the import and accounts use."""

    def __init__(self, *, max_length: int = NAME_MAX, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)
        self.name_max = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return None if text is None else normalise_name(text, max_length=self.name_max)


def language_field(**kwargs: Any) -> fields.String:
    """``fr`` or ``en``."""
    return ChoiceField(LANGUAGES, **kwargs)


def attestation_description(name: str, text_fr: str, text_en: str) -> Field:
    """A box that must be checked to submit."""
    return Field(name, "attestation", text_fr, text_en, required=True, default=False)


def profile_description() -> Field:
    """*Profil concerné*: the profile the request is for (the one in the URL; checked)."""
    return Field(
        "profile_id",
        "organisation",
        "Profil concerné",
        "Profile concerned",
        choices_source="account.profiles",
        help_fr="Le profil de votre organisation; il doit être celui de la demande.",
        help_en="Your organisation's profile; it must be the request's.",
    )


class Email(fields.Email):
    """An email address in its one stored form (``forms.fields.normalise_email``): NFKC, lower
    case, the domain in IDNA ASCII; quoted local parts and mixed-script look-alikes refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The rule replaces marshmallow's regex (which refused the NFD form of "rené@…").
        self.validators = [v for v in self.validators if not isinstance(v, validate.Email)]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return normalise_email(value)


def present(original: Mapping[str, Any], name: str) -> bool:
    """Whether the submission gave ``name`` a value (not missing, null, blank or empty)."""
    value = original.get(name)
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def flag(data: Mapping[str, Any], original: Mapping[str, Any], name: str) -> bool | None:
    """A loaded boolean's value, or ``None`` when it was given but invalid (already reported)."""
    if name in original and name not in data:
        return None
    return bool(data.get(name, False))
