"""Schemas shared by several domains: ids, pagination and problem details."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from forms.common import ID_RANGE, INVALID_ID
from forms.fields import check_text


class StrictSchema(Schema):
    """A schema that refuses unknown fields (server-owned fields included)."""

    class Meta:
        unknown = RAISE


class Id(fields.Integer):
    """A row id in a query or a body: 1 to 2**31-1 (what an INTEGER column holds), else a 422
    naming it.

    Every id the API reads goes through this field (path ids through the ``int`` URL converter,
    form variables through ``forms.common.id_field``): a larger number would reach the database
    (PostgreSQL: « integer out of range »; SQLite's driver beyond 2**63-1: OverflowError), a 500.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=ID_RANGE, **kwargs)
        # ``Infinity`` is valid JSON for Python and int() of it overflows.
        self.error_messages["too_large"] = INVALID_ID


def free_text(text: str) -> None:
    """A person's free text (a comment, a refusal's reason): no control or invisible character
    but its line breaks (``forms.fields.check_text``), else a 422 naming the field. PostgreSQL
    refuses a NUL byte in a text column: it was a 500."""
    check_text(text, multiline=True)


def lang_arg() -> fields.String:
    """The ``lang`` query parameter: the language of the answer, ``fr`` (default) or ``en``."""
    return fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class LangArgs(StrictSchema):
    lang = lang_arg()


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ProblemSchema(Schema):
    """RFC 9457 problem details: the shape of every error (``application/problem+json``)."""

    type = fields.String(
        required=True,
        validate=validate.Regexp(r"^/problems/[a-z0-9-]+$"),
        metadata={"description": "/problems/<slug>, p. ex. /problems/not-found"},
    )
    title = fields.String(required=True)
    status = fields.Integer(required=True, metadata={"description": "Le code HTTP de la réponse"})
    detail = fields.String(required=True, metadata={"description": "Le message, en français"})
    errors = fields.Dict(
        required=True,
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Les messages par champ (vide sans erreur de champ)"},
    )
    state = fields.String(metadata={"description": "409 : l'état actuel de la demande"})
    allowed = fields.List(
        fields.String(), metadata={"description": "409 : les déclencheurs permis dans cet état"}
    )
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "503 : l'état de chaque dépendance"},
    )
