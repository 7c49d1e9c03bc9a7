"""The marshmallow fields a form's values load with: text, choices, ids, codes, emails, names.

Each applies the one rule of its value (``forms.fields``). ``forms.base`` picks one from a field's
type when the field declares none (see ``forms.base.Field.value``); the forms pass others
explicitly (a name's length, a birth date's bounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from . import messages
from .fields import (
    NAME_MAX,
    check_text,
    normalise_client_number,
    normalise_email,
    normalise_name,
)

__all__ = [
    "ID_RANGE",
    "INVALID_ID",
    "MAX_ID",
    "BaseSchema",
    "ChoiceField",
    "ClientNumber",
    "Email",
    "Name",
    "Text",
    "attestation_field",
    "code_list",
    "id_field",
    "id_list",
    "unique_items",
]


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


def attestation_field(**kwargs: Any) -> fields.Boolean:
    """A box that must be checked (required unless told otherwise)."""
    kwargs.setdefault("required", True)
    return fields.Boolean(validate=validate.Equal(True, error=messages.ATTESTATION), **kwargs)


# Ids are INTEGER columns: on PostgreSQL beyond 2**31-1 a comparison with one fails ("integer out
# of range", a 500; SQLite's driver fails beyond 2**63-1), so a larger number is refused like any
# invalid id. catalogue_svc.schemas.Id and the URL converter read both from here.
MAX_ID = 2**31 - 1
INVALID_ID = "Doit être un identifiant valide (nombre entier positif)."
ID_RANGE = validate.Range(min=1, max=MAX_ID, error=INVALID_ID)


def id_field(**kwargs: Any) -> fields.Integer:
    """A row id, as a JSON integer from 1 to 2**31-1."""
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
