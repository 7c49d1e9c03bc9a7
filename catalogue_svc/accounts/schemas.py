"""Request and response schemas of the accounts, session, linking and profile endpoints."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from forms.common import Email
from forms.fields import NAME_MAX, check_text, normalise_name

from ..profiles.models import CONTACT_RELATION_LABELS
from . import sessions
from .policy import PASSWORD_MAX, password_problems

REQUIRED_NAME = "Ce champ est obligatoire."
TERMS = "Vous devez accepter les conditions d'utilisation."
CONFIRMATION = "La confirmation ne correspond pas au mot de passe."


class Trimmed(fields.String):
    """A string without surrounding spaces and without control or invisible characters (no CR/LF,
    no bidi override: ``forms.fields.check_text``, the forms' and the import's rule)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        for validator in self.validators:
            if isinstance(validator, validate.Length):
                # The documented maximum holds for what is sent, spaces around included.
                validator(raw)
        return check_text(raw.strip())


def _name(value: str) -> None:
    """The names' rule of the forms and the import (``forms.fields.normalise_name``)."""
    if not value:
        raise ValidationError(REQUIRED_NAME)
    normalise_name(value, max_length=NAME_MAX)


class SignUpSchema(Schema):
    """``POST /api/accounts``."""

    email = Email(
        required=True,
        metadata={
            "description": (
                "Adresse courriel (identifiant du compte), enregistrée sous sa forme normale : "
                "minuscules, NFKC, domaine en IDNA ASCII; syntaxe vérifiée par email-validator; "
                "les parties locales entre guillemets, les mélanges d'alphabets latin, cyrillique "
                "et grec et les domaines qui ne reçoivent pas de courriel (localhost, .local, "
                ".invalid, .onion, .arpa) sont refusés"
            )
        },
    )
    password = fields.String(
        required=True,
        metadata={"description": f"8 à {PASSWORD_MAX} caractères, pas un mot de passe courant"},
    )
    password_confirmation = fields.String(required=True)
    first_name = Trimmed(required=True, validate=_name)
    last_name = Trimmed(required=True, validate=_name)
    terms_accepted = fields.Boolean(required=True, validate=validate.Equal(True, error=TERMS))
    language = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))

    @validates_schema(skip_on_field_errors=False)
    def _passwords(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Every password problem at once, next to the other fields' problems."""
        check_new_password(data, email=data.get("email"))


def check_new_password(data: dict[str, Any], *, email: str | None) -> None:
    """Raise every problem of ``password`` and its confirmation at once (the policy of S1)."""
    errors: dict[str, list[str]] = {}
    password = data.get("password")
    if isinstance(password, str):
        problems = password_problems(password, email=email)
        if problems:
            errors["password"] = problems
        confirmation = data.get("password_confirmation")
        if isinstance(confirmation, str) and confirmation != password:
            errors["password_confirmation"] = [CONFIRMATION]
    if errors:
        raise ValidationError(errors)


class VerifySchema(Schema):
    """``POST /api/accounts/verify``."""

    email = Trimmed(required=True, validate=validate.Length(min=1, max=254))
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Le code à 6 chiffres reçu par courriel"},
    )


class ResendSchema(Schema):
    """``POST /api/accounts/verify/resend``."""

    email = Trimmed(required=True, validate=validate.Length(min=1, max=254))


class MessageSchema(Schema):
    """A short French message."""

    detail = fields.String()


class LoginSchema(Schema):
    """``POST /api/session``."""

    email = Trimmed(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class AccountSchema(Schema):
    """The logged-in account."""

    id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    role = fields.String(metadata={"description": "user | agent"})
    language = fields.String()


class SessionSchema(Schema):
    """Who am I, and the CSRF token to send in ``X-CSRF-Token`` on state-changing calls."""

    authenticated = fields.Boolean()
    account = fields.Nested(AccountSchema, allow_none=True)
    linked_profiles = fields.Integer(metadata={"description": "Nombre de profils liés"})
    csrf_token = fields.String()


class LinkSchema(Schema):
    """``POST /api/links``: the *coordonnées de liaison* received by email."""

    identifier = Trimmed(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Identifiant de liaison, p. ex. L-7KQ2-MX9T"},
    )
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class LegacyLinkSchema(Schema):
    """``POST /api/links/legacy``: the old site's username and password."""

    username = Trimmed(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


def _labels(profile: Any) -> list[str]:
    return [CONTACT_RELATION_LABELS.get(t, (t, t))[0] for t in profile.relation_types]


class ProfileSchema(Schema):
    """A profile the account may act in (one per organisation)."""

    profile_id = fields.Integer(metadata={"description": "L'identifiant de l'organisation"})
    organisation_id = fields.Integer()
    name = fields.String()
    client_number = fields.String()
    kind = fields.String(metadata={"description": "employer | accounting_firm | payroll_service"})
    contact_id = fields.Integer()
    relation_types = fields.List(fields.String())
    relation_labels = fields.Function(_labels, metadata={"description": "Libellés en français"})
    can_manage_authorizations = fields.Boolean()
    linked_at = fields.DateTime()


class PageArgsSchema(Schema):
    """``?page=1&per_page=50``."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class ProfilePageSchema(Schema):
    """A page of profiles."""

    items = fields.List(fields.Nested(ProfileSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


# ---------------------------------------------------------------- account settings

NEW_PASSWORD = f"Nouveau mot de passe : 8 à {PASSWORD_MAX} caractères, pas un mot de passe courant"


class PasswordResetRequestSchema(Schema):
    """``POST /api/password-reset`` (*Mot de passe oublié?*)."""

    email = Trimmed(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata={"description": "L'adresse courriel du compte"},
    )


class PasswordResetSchema(Schema):
    """``POST /api/password-reset/confirm``: the emailed code and the new password."""

    email = Trimmed(required=True, validate=validate.Length(min=1, max=254))
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Le code à 6 chiffres reçu par courriel (valide 30 minutes)"},
    )
    password = fields.String(required=True, metadata={"description": NEW_PASSWORD})
    password_confirmation = fields.String(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _passwords(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Every password problem at once, next to the other fields' problems."""
        check_new_password(data, email=data.get("email"))


class PasswordChangeSchema(Schema):
    """``POST /api/account/password``."""

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    password = fields.String(required=True, metadata={"description": NEW_PASSWORD})
    password_confirmation = fields.String(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _passwords(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The policy, with the logged-in account's address (loaded after the login check)."""
        account = sessions.current_account()
        check_new_password(data, email=account.email if account else None)


class EmailChangeSchema(Schema):
    """``POST /api/account/email``."""

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    email = Email(
        required=True,
        metadata={
            "description": (
                "La nouvelle adresse (même règle qu'à l'inscription); un code y est envoyé pour la "
                "confirmer"
            )
        },
    )


class EmailChangeConfirmSchema(Schema):
    """``POST /api/account/email/confirm``."""

    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Le code à 6 chiffres reçu à la nouvelle adresse"},
    )


class AccountUpdateSchema(Schema):
    """``PATCH /api/account``: only the fields sent change."""

    first_name = Trimmed(validate=_name)
    last_name = Trimmed(validate=_name)
    language = fields.String(
        validate=validate.OneOf(["fr", "en"]),
        metadata={"description": "Langue de communication : tous les courriels du compte"},
    )


class AccountSettingsSchema(Schema):
    """*Paramètres du compte*: names, email, language, and the linked profiles."""

    id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    language = fields.String(metadata={"description": "fr | en"})
    role = fields.String(metadata={"description": "user | agent"})
    pending_email = fields.String(
        allow_none=True,
        metadata={"description": "Nouvelle adresse en attente de confirmation, s'il y a lieu"},
    )
    profiles = fields.List(fields.Nested(ProfileSchema))
