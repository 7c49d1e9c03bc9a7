"""The field types and field rules the row schemas share (:mod:`.schemas`): stripped texts
without control characters, client numbers, names and emails in the forms' formats
(``forms.fields``), strict booleans, and the date rules of a dossiers file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import (
    ValidationError,
    fields,
    validate,
)

from forms.fields import (
    NAME_MAX,
    check_text,
    normalise_client_number,
    normalise_email,
    normalise_name,
)

from ..clock import now

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
