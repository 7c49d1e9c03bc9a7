"""The accounts domain's emails (registered with the notifications templates)."""

from __future__ import annotations

from ..notifications.templates import Template, register


def register_templates() -> None:
    """Register the accounts domain's emails in French and English."""
    register(
        "verify_email",
        Template(
            subject={
                # Never the code in the subject: only the body is scrubbed once sent.
                "fr": "Votre code de vérification",
                "en": "Your verification code",
            },
            body={
                # No name: it was typed by whoever signed up, perhaps not this mailbox's owner.
                "fr": (
                    "Bonjour,\n\n"
                    "Pour valider la création de votre compte aux services en ligne, inscrivez "
                    "ce code à usage unique à l'endroit prévu, dans le navigateur où vous avez "
                    "demandé la création du compte, puis cliquez sur « Valider le code » :\n\n"
                    "    {code}\n\n"
                    "Ce code est valide {minutes} minutes et ne peut servir qu'une seule fois. "
                    "Si vous avez reçu plusieurs de ces courriels, seul le plus récent est "
                    "valide.\n\n"
                    "Si vous n'avez pas demandé la création d'un compte, ignorez ce courriel : "
                    "sans ce code, personne ne peut créer de compte avec votre adresse."
                ),
                "en": (
                    "Hello,\n\n"
                    "To confirm the creation of your online services account, enter this "
                    "one-time code where asked, in the browser where you asked for the account, "
                    'then click "Validate the code":\n\n'
                    "    {code}\n\n"
                    "This code is valid for {minutes} minutes and can be used only once. If you "
                    "received several of these emails, only the latest one is valid.\n\n"
                    "If you did not ask for an account, ignore this email: without this code, "
                    "nobody can create an account with your address."
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
    _register_settings_templates()


# How to react when a change was not made by the account's owner (the notices below).
_NOT_YOU = {
    "fr": (
        "Si vous n'êtes pas à l'origine de ce changement, réinitialisez sans tarder votre mot "
        "de passe avec « Mot de passe oublié? » sur {base_url}, puis communiquez avec le soutien "
        "aux services en ligne (section « Nous joindre » de {base_url})."
    ),
    "en": (
        'If you did not make this change, reset your password right away with "Forgot your '
        'password?" at {base_url}, then contact the online services support ("Contact us" at '
        "{base_url})."
    ),
}


def _register_settings_templates() -> None:
    """The emails of the account settings: reset and email-change codes, and the notices."""
    register(
        "password_reset_code",
        Template(
            subject={
                "fr": "Réinitialisation de votre mot de passe",
                "en": "Resetting your password",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Vous avez demandé à réinitialiser le mot de passe de votre compte aux "
                    "services en ligne. Inscrivez ce code à usage unique à l'endroit prévu, "
                    "puis choisissez votre nouveau mot de passe :\n\n"
                    "    {code}\n\n"
                    "Ce code est valide {minutes} minutes et ne peut servir qu'une seule fois.\n\n"
                    "Si vous n'avez pas fait cette demande, ignorez ce courriel : votre mot de "
                    "passe reste le même."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "You asked to reset the password of your online services account. Enter "
                    "this one-time code where asked, then choose your new password:\n\n"
                    "    {code}\n\n"
                    "This code is valid for {minutes} minutes and can be used only once.\n\n"
                    "If you did not ask for this, ignore this email: your password stays the same."
                ),
            },
        ),
    )
    register(
        "password_changed",
        Template(
            subject={
                "fr": "Votre mot de passe a été modifié",
                "en": "Your password was changed",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Le mot de passe de votre compte aux services en ligne vient d'être modifié; "
                    "vos autres sessions ont pris fin.\n\n" + _NOT_YOU["fr"]
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "The password of your online services account was just changed; your other "
                    "sessions were ended.\n\n" + _NOT_YOU["en"]
                ),
            },
        ),
    )
    register(
        "email_change_code",
        Template(
            subject={
                "fr": "Confirmez votre nouvelle adresse courriel",
                "en": "Confirm your new email address",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Pour que cette adresse devienne celle de votre compte aux services en ligne, "
                    "inscrivez ce code à usage unique dans les paramètres du compte :\n\n"
                    "    {code}\n\n"
                    "Ce code est valide {minutes} minutes et ne peut servir qu'une seule fois.\n\n"
                    "Si vous n'avez pas fait cette demande, ignorez ce courriel : rien ne sera "
                    "changé."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "To make this address the one of your online services account, enter this "
                    "one-time code in the account settings:\n\n"
                    "    {code}\n\n"
                    "This code is valid for {minutes} minutes and can be used only once.\n\n"
                    "If you did not ask for this, ignore this email: nothing will change."
                ),
            },
        ),
    )
    register(
        "email_in_use",
        Template(
            subject={
                "fr": "Tentative d'utilisation de votre adresse courriel",
                "en": "Attempt to use your email address",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "Quelqu'un a tenté de donner votre adresse courriel à un autre compte des "
                    "services en ligne. Votre adresse sert déjà à votre compte : la demande n'a "
                    "pas été acceptée et votre compte n'a pas été modifié.\n\n"
                    "Vous n'avez rien à faire. Si vous vouliez réunir deux comptes, communiquez "
                    "avec le soutien aux services en ligne (section « Nous joindre » de "
                    "{base_url})."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "Someone tried to give your email address to another online services "
                    "account. Your address is already used by your account: the request was "
                    "not accepted and your account was not changed.\n\n"
                    "You have nothing to do. If you meant to merge two accounts, contact the "
                    'online services support ("Contact us" at {base_url}).'
                ),
            },
        ),
    )
    register(
        "email_changed",
        Template(
            subject={
                "fr": "L'adresse courriel de votre compte a été modifiée",
                "en": "The email address of your account was changed",
            },
            body={
                "fr": (
                    "Bonjour {first_name},\n\n"
                    "L'adresse courriel de votre compte aux services en ligne vient d'être "
                    "remplacée par {new_email}. Cette adresse-ci ne sert plus à vous connecter "
                    "ni à recevoir nos courriels.\n\n"
                    "Si vous n'êtes pas à l'origine de ce changement, communiquez sans tarder "
                    "avec le soutien aux services en ligne (section « Nous joindre » de "
                    "{base_url}) : il pourra rétablir votre adresse. Quelqu'un connaît sans doute "
                    "votre mot de passe : une fois l'adresse rétablie, réinitialisez-le avec "
                    "« Mot de passe oublié? »."
                ),
                "en": (
                    "Hello {first_name},\n\n"
                    "The email address of your online services account was just replaced with "
                    "{new_email}. This address no longer signs you in nor receives our "
                    "emails.\n\n"
                    "If you did not make this change, contact the online services support right "
                    'away ("Contact us" at {base_url}): they can restore your address. Someone '
                    "probably knows your password: once the address is restored, reset it with "
                    '"Forgot your password?".'
                ),
            },
        ),
    )
