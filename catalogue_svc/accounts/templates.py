"""The accounts domain's emails (registered with the notifications templates)."""

from __future__ import annotations

from ..notifications.templates import Template, register


def register_templates() -> None:
    """Register ``verify_email`` and ``account_exists`` in French and English."""
    register(
        "verify_email",
        Template(
            subject={
                # Never the code in the subject: only the body is scrubbed once sent.
                "fr": "Votre code de vérification",
                "en": "Your verification code",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Pour valider la création de votre compte aux services en ligne, inscrivez "
                    "ce code à usage unique à l'endroit prévu, puis cliquez sur « Valider le "
                    "code » :\n\n"
                    "    {code}\n\n"
                    "Ce code est valide {minutes} minutes et ne peut servir qu'une seule fois.\n\n"
                    "Si vous n'avez pas demandé la création d'un compte, ignorez ce courriel."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "To confirm the creation of your online services account, enter this "
                    'one-time code where asked, then click "Validate the code":\n\n'
                    "    {code}\n\n"
                    "This code is valid for {minutes} minutes and can be used only once.\n\n"
                    "If you did not ask for an account, ignore this email."
                ),
            },
        ),
    )
    register(
        "account_exists",
        Template(
            subject={
                "fr": "Tentative de création de compte avec votre adresse",
                "en": "Attempt to create an account with your address",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Quelqu'un a tenté de créer un compte aux services en ligne avec votre "
                    "adresse courriel, mais un compte existe déjà pour cette adresse.\n\n"
                    "Si c'était vous, connectez-vous à {base_url} avec votre mot de passe; "
                    "si vous l'avez oublié, cliquez sur « Mot de passe oublié? ».\n\n"
                    "Si ce n'était pas vous, vous pouvez ignorer ce courriel : votre compte "
                    "n'a pas été modifié."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "Someone tried to create an online services account with your email "
                    "address, but an account already exists for it.\n\n"
                    "If it was you, sign in at {base_url} with your password; if you forgot "
                    'it, click "Forgot your password?".\n\n'
                    "If it was not you, you can ignore this email: your account was not changed."
                ),
            },
        ),
    )
