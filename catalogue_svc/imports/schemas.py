"""Marshmallow schemas of one row of each section of a dossiers file (docs/import-format.md).

They check each row on its own (types, formats, required fields, dates in order); the service
checks what needs the whole file or the database (references, duplicates). The format of each value
(client numbers, names, emails, phones, postal codes, no control character in any text) is the
forms' own rule, from ``forms.fields``: what the import stores, a form accepts typed again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    validate,
    validates_schema,
)

from forms import messages
from forms.fields import (
    NAME_MAX,
    ORGANISATION_NAME_MAX,
    check_country_code,
    check_extension,
    check_text,
    find_hostile,
    normalise_client_number,
    normalise_email,
    normalise_name,
    normalise_phone_number,
    normalise_postal_code,
)

from ..clock import now
from ..db import END_OF_TIME
from ..profiles.models import (
    ContactRelationType,
    OrganisationKind,
    OrganisationRelationType,
    Right,
)

LANGUAGES = ("fr", "en")
EARLIEST = dt.date(1900, 1, 1)

# Countries whose addresses have a Canadian postal code (the demo file writes "Canada").
CANADA = frozenset({"ca", "canada"})
NORTH_AMERICA = "Amérique du Nord"
REF = validate.Length(min=1, max=60, error="La référence doit compter de 1 à 60 caractères.")


def _one_of(choices: tuple[str, ...] | list[str]) -> validate.OneOf:
    return validate.OneOf(
        choices,
        error="Valeur invalide : doit être l'une des suivantes : " + ", ".join(choices) + ".",
    )


class Text(fields.String):
    """A string, stripped, without control or invisible characters (``forms.fields.check_text``);
    with ``blank_as_none``, an empty string counts as absent."""

    def __init__(self, *args: Any, blank_as_none: bool = False, **kwargs: Any) -> None:
        self.blank_as_none = blank_as_none
        super().__init__(*args, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not str:  # the common case skips marshmallow's checks
            value = super()._deserialize(value, attr, data, **kwargs)
        text = value.strip()
        if not text and self.blank_as_none:
            return None
        return check_text(text)

    def _validate(self, value: Any) -> None:
        # An optional text left blank is absent: nothing to validate (Length would fail on None).
        if value is not None:
            super()._validate(value)


class ClientNumber(Text):
    """A client number in the forms' format (``forms.fields.normalise_client_number``): spaces
    dropped, upper case; ``ab-12`` and ``AB-12`` are one number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return None if text is None else normalise_client_number(text)


class Name(Text):
    """A person's or an organisation's name (``forms.fields.normalise_name``)."""

    def __init__(self, max_length: int = NAME_MAX, **kwargs: Any) -> None:
        self.max_length = max_length
        super().__init__(required=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return normalise_name(
            super()._deserialize(value, attr, data, **kwargs), max_length=self.max_length
        )


class EmailText(Text):
    """An optional email in its one stored form (``forms.fields.normalise_email``)."""

    def __init__(self) -> None:
        super().__init__(load_default=None, allow_none=True, blank_as_none=True)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return None if text is None else normalise_email(text)


def _field_error(errors: dict[str, list[str]], name: str, exc: ValidationError) -> None:
    errors[name] = list(exc.messages)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only: a migration file does not say ``"yes"`` or ``1``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _required_text(max_length: int, **kwargs: Any) -> Text:
    return Text(
        required=True,
        validate=validate.Length(
            min=1, max=max_length, error=f"Doit compter de 1 à {max_length} caractères."
        ),
        **kwargs,
    )


def _optional_text(max_length: int, *validators: Any) -> Text:
    return Text(
        load_default=None,
        allow_none=True,
        blank_as_none=True,
        validate=[
            validate.Length(max=max_length, error=f"Doit compter au plus {max_length} caractères."),
            *validators,
        ],
    )


def _client_number(required: bool = True) -> ClientNumber:
    if required:
        return ClientNumber(required=True)
    return ClientNumber(load_default=None, allow_none=True, blank_as_none=True)


def _birth_date(value: dt.date) -> None:
    if value < EARLIEST:
        raise ValidationError("La date de naissance doit être postérieure au 1900-01-01.")
    if value > now().date():
        raise ValidationError("La date de naissance ne peut pas être dans le futur.")


def _not_too_early(value: dt.date) -> None:
    if value < EARLIEST:
        raise ValidationError("La date doit être postérieure au 1900-01-01.")


def _check_period(data: dict[str, Any]) -> None:
    start, end = data.get("start_date"), data.get("end_date")
    if start is not None and end is not None and end < start:
        raise ValidationError(
            f"La date de fin ({end.isoformat()}) précède la date de début ({start.isoformat()}).",
            "end_date",
        )


class _Row(Schema):
    """A row of a section. Unknown fields are errors: a typo must not silently drop data.

    Rules across fields go in :meth:`check`, clean-ups after loading in :meth:`finish`, so that
    :class:`FastLoader` runs them too.
    """

    def check(self, data: dict[str, Any]) -> None:
        """Rules across fields; raise ValidationError."""

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        """The loaded row, cleaned up."""
        return data

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        self.check(data)

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.finish(data)


class AddressSchema(_Row):
    """A postal address."""

    street = _required_text(200)
    city = _required_text(100)
    province = _optional_text(60)
    postal_code = _optional_text(12)
    country = _optional_text(60)

    def check(self, data: dict[str, Any]) -> None:
        postal, country = data.get("postal_code"), data.get("country")
        if postal is not None and (country is None or country.lower() in CANADA):
            try:
                normalise_postal_code(postal)
            except ValidationError as exc:
                raise ValidationError(list(exc.messages), "postal_code") from None

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        postal, country = data.get("postal_code"), data.get("country")
        if postal is not None and (country is None or country.lower() in CANADA):
            data["postal_code"] = normalise_postal_code(postal)
        return {key: value for key, value in data.items() if value is not None}


class PhoneSchema(_Row):
    """A phone number (type, territory, country code, number, extension)."""

    type = _required_text(30)
    territory = Text(
        load_default=NORTH_AMERICA,
        validate=validate.Length(min=1, max=60, error="Doit compter de 1 à 60 caractères."),
    )
    country_code = Text(load_default="+1")
    number = _required_text(30)
    extension = _optional_text(10)

    def check(self, data: dict[str, Any]) -> None:
        """The forms' phone rules (``forms.fields``), every problem at once."""
        errors: dict[str, list[str]] = {}
        code = data.get("country_code")
        if code is not None:
            try:
                check_country_code(code)
            except ValidationError as exc:
                _field_error(errors, "country_code", exc)
            north_america = data.get("territory") == NORTH_AMERICA
            if "country_code" not in errors and north_america and code != "+1":
                errors["country_code"] = [messages.PHONE_TERRITORY_CODE]
        number = data.get("number")
        if number is not None and "country_code" not in errors:
            try:
                normalise_phone_number(number, code or "")
            except ValidationError as exc:
                _field_error(errors, "number", exc)
        if data.get("extension") is not None:
            try:
                check_extension(data["extension"])
            except ValidationError as exc:
                _field_error(errors, "extension", exc)
        if errors:
            raise ValidationError(errors)

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        data["number"] = normalise_phone_number(data["number"], data["country_code"])
        return data


class OrganisationSchema(_Row):
    """An organisation: employer, accounting firm or payroll service."""

    client_number = _client_number()
    name = Name(ORGANISATION_NAME_MAX)
    kind = Text(required=True, validate=_one_of([k.value for k in OrganisationKind]))
    language = Text(load_default="fr", validate=_one_of(LANGUAGES))
    email = EmailText()
    phone = _optional_text(40)
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)


class ContactSchema(_Row):
    """A person; ``ref`` is the export's key for it."""

    ref = Text(required=True, validate=REF)
    client_number = _client_number(required=False)
    first_name = Name()
    last_name = Name()
    birth_date = fields.Date(load_default=None, allow_none=True, validate=_birth_date)
    language = Text(load_default="fr", validate=_one_of(LANGUAGES))
    email = EmailText()
    phones = fields.List(fields.Nested(PhoneSchema), load_default=list)
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    send_linking_credentials = StrictBoolean(load_default=False)
    linking_organisation = _client_number(required=False)

    def check(self, data: dict[str, Any]) -> None:
        if not data.get("send_linking_credentials"):
            return
        errors: dict[str, list[str]] = {}
        if not data.get("email"):
            errors["email"] = [
                "Obligatoire quand send_linking_credentials est vrai : le courriel explicatif "
                "est envoyé à cette adresse."
            ]
        if not data.get("linking_organisation"):
            errors["linking_organisation"] = [
                "Obligatoire quand send_linking_credentials est vrai : le numéro de client de "
                "l'organisation dont le dossier sera lié."
            ]
        if errors:
            raise ValidationError(errors)


class ContactRelationSchema(_Row):
    """A contact's relation to an organisation."""

    contact = Text(required=True, validate=REF)
    organisation = _client_number()
    type = Text(required=True, validate=_one_of([t.value for t in ContactRelationType]))
    start_date = fields.Date(required=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)


class OrganisationRelationSchema(_Row):
    """``organisation`` *a comme firme comptable ou serv. de paie* ``related_organisation``."""

    organisation = _client_number()
    related_organisation = _client_number()
    type = Text(
        load_default=OrganisationRelationType.ACCOUNTING_FIRM.value,
        validate=_one_of([t.value for t in OrganisationRelationType]),
    )
    start_date = fields.Date(required=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)
        if data.get("organisation") and data.get("organisation") == data.get(
            "related_organisation"
        ):
            raise ValidationError(
                "Une organisation ne peut pas être en relation avec elle-même.",
                "related_organisation",
            )


class RelationRefSchema(_Row):
    """Which of the holder contact's relations a grant goes through."""

    organisation = _client_number(required=False)
    type = Text(required=True, validate=_one_of([t.value for t in ContactRelationType]))
    start_date = fields.Date(load_default=None, allow_none=True)


class HolderSchema(_Row):
    """Who holds a grant: an organisation, or a contact through one of its relations."""

    organisation = _client_number(required=False)
    contact = Text(load_default=None, allow_none=True, validate=REF)
    relation = fields.Nested(RelationRefSchema, load_default=None, allow_none=True)

    def check(self, data: dict[str, Any]) -> None:
        organisation, contact = data.get("organisation"), data.get("contact")
        if (organisation is None) == (contact is None):
            raise ValidationError(
                "Indiquez soit « organisation » (numéro de client), soit « contact » (référence)."
            )
        if contact is not None and data.get("relation") is None:
            raise ValidationError(
                "Obligatoire quand le détenteur est un contact : la relation par laquelle il "
                "détient le sujet.",
                "relation",
            )
        if organisation is not None and data.get("relation") is not None:
            raise ValidationError(
                "Sans objet quand le détenteur est une organisation (la relation entre "
                "organisations est déduite).",
                "relation",
            )


class GrantSchema(_Row):
    """A right on one subject of one organisation's dossier."""

    subject = _required_text(60)
    owner = _client_number()
    right = Text(required=True, validate=_one_of([r.value for r in Right]))
    holder = fields.Nested(HolderSchema, required=True)
    start_date = fields.Date(load_default=None, allow_none=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)


class LegacyCredentialSchema(_Row):
    """The old site's username and password (in clear in the file, hashed on import)."""

    username = _required_text(120)
    # Not stripped: a password is compared byte for byte.
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=256, error="Doit compter de 1 à 256 caractères."),
    )
    contact = Text(required=True, validate=REF)
    organisation = _client_number()


SECTIONS: dict[str, type[_Row]] = {
    "organisations": OrganisationSchema,
    "contacts": ContactSchema,
    "contact_relations": ContactRelationSchema,
    "organisation_relations": OrganisationRelationSchema,
    "grants": GrantSchema,
    "legacy_credentials": LegacyCredentialSchema,
}

# Documentation keys a file may carry at the top level besides the sections.
TOP_LEVEL_EXTRAS = ("version", "description")


class _Slow(Exception):
    """The fast path cannot vouch for this row."""


def _inline_test(validator: Any, name: str) -> str | None:
    """A Python condition, true when ``validator`` would fail on the string ``v`` (the same test
    as its ``__call__``), for the validators the schemas use; None for any other."""
    kind = type(validator)
    if kind is validate.Length:
        if validator.equal is not None:
            return f"len(v) != {validator.equal!r}"
        tests = []
        if validator.min is not None:
            tests.append(f"len(v) < {validator.min!r}")
        if validator.max is not None:
            tests.append(f"len(v) > {validator.max!r}")
        return " or ".join(tests) or "False"
    if kind is validate.Regexp:
        return f"{name}.regex.match(v) is None"
    if kind is validate.OneOf:
        return f"v not in {name}.choices"
    return None


class FastLoader:
    """``schema.load`` without marshmallow's per-field machinery, for rows that are valid.

    On 100,000 contacts, marshmallow's own loop costs about five times the work the fields and
    validators do. This runs the same fields' ``_deserialize``, the same validators and the same
    :meth:`_Row.check`/:meth:`_Row.finish`, and hands any row it cannot vouch for (an error, an
    unknown key, a shape it does not know) to ``schema.load``, which then reports the errors in
    its own words. A test checks that both give the same rows.
    """

    def __init__(self, schema: _Row) -> None:
        self.schema = schema
        self.names = frozenset(schema.load_fields)
        # Everything the loop needs, looked up once: (name, required, default, allow_none,
        # deserialize, validators, nested loader, is a list of nested rows).
        self.fields: list[tuple[Any, ...]] = []
        for name, field in schema.load_fields.items():
            if field.data_key not in (None, name):
                raise TypeError("FastLoader does not handle data_key")
            inner, many = None, False
            if isinstance(field, fields.Nested):
                inner = FastLoader(field.schema)  # type: ignore[arg-type]
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                inner, many = FastLoader(field.inner.schema), True  # type: ignore[arg-type]
            self.fields.append(
                (
                    name,
                    field.required,
                    field.load_default,
                    field.allow_none,
                    field._deserialize,
                    tuple(field.validators),
                    inner,
                    many,
                )
            )

        self._fast: Callable[[Any], dict[str, Any]] = self._compile()

    def load(self, item: Any) -> dict[str, Any]:
        """The loaded row; raises marshmallow's ValidationError for an invalid one."""
        try:
            return self._fast(item)
        except (_Slow, ValidationError):
            return self.schema.load(item)  # type: ignore[no-any-return]

    def _compile(self) -> Callable[[Any], dict[str, Any]]:
        """The loop over the fields, unrolled into one function made for this schema.

        A generic loop over the fields costs about twice the fields' own work on 300,000 rows
        (a tuple unpacked and six branches a field); the function written here holds only the
        branches each field needs, and inlines :class:`Text` for a ``str`` (strip, blank as
        absent), which is what ``Text._deserialize`` does then.
        """
        env: dict[str, Any] = {
            "_Slow": _Slow,
            "missing": missing,
            "names": self.names,
            "check": self.schema.check,
            "finish": self.schema.finish,
            "hostile": find_hostile,
        }
        code = [
            "def fast(item):",
            "    if type(item) is not dict or not item.keys() <= names:",
            "        raise _Slow",
            "    out = {}",
            "    get = item.get",
        ]
        for i, (
            name,
            required,
            default,
            allow_none,
            deserialize,
            validators,
            inner,
            many,
        ) in enumerate(self.fields):
            key = repr(name)
            code += [f"    v = get({key}, missing)", "    if v is missing:"]
            if required:
                code.append("        raise _Slow")
            elif default is missing:
                code.append("        pass")
            else:
                env[f"d{i}"] = default
                code.append(
                    f"        out[{key}] = d{i}()"
                    if callable(default)
                    else f"        out[{key}] = d{i}"
                )
            code.append("    elif v is None:")
            code.append(f"        out[{key}] = None" if allow_none else "        raise _Slow")
            code.append("    else:")
            if inner is not None:
                env[f"i{i}"] = inner._fast
                if many:
                    code += [
                        "        if type(v) is not list:",
                        "            raise _Slow",
                        f"        v = [i{i}(e) for e in v]",
                    ]
                else:
                    code.append(f"        v = i{i}(v)")
            else:
                env[f"f{i}"] = deserialize
                field = self.schema.load_fields[name]
                if type(field) is Text:
                    code += [
                        "        if type(v) is str:",
                        "            v = v.strip()",
                        "            if hostile(v) is not None:",  # as Text._deserialize
                        "                raise _Slow",
                        *(
                            ["            if not v:", "                v = None"]
                            if field.blank_as_none
                            else []
                        ),
                        "        else:",
                        f"            v = f{i}(v, {key}, item)",
                    ]
                else:
                    code.append(f"        v = f{i}(v, {key}, item)")
            field = self.schema.load_fields[name]
            indent = "        "
            if validators and type(field) is Text and field.blank_as_none:
                code.append("        if v is not None:")  # blank: absent, as Text._validate
                indent += "    "
            for j, validator in enumerate(validators):
                env[f"v{i}_{j}"] = validator
                test = _inline_test(validator, f"v{i}_{j}") if type(field) is Text else None
                if validator is _birth_date:
                    env["EARLIEST"], env["today"] = EARLIEST, now().date()
                    test = "v < EARLIEST or v > today"
                code += [
                    f"{indent}if {test or f'v{i}_{j}(v) is False'}:",
                    f"{indent}    raise _Slow",
                ]
            code.append(f"        out[{key}] = v")
        if type(self.schema).check is not _Row.check:
            code.append("    check(out)")
        code.append(
            "    return finish(out)"
            if type(self.schema).finish is not _Row.finish
            else "    return out"
        )
        exec("\n".join(code), env)  # noqa: S102 - source written above from the schema's fields
        return env["fast"]  # type: ignore[no-any-return]
