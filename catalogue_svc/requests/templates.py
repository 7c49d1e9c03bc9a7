"""Emails about requests."""

from ..notifications.templates import Template, register

register(
    "request_applied",
    Template(
        subject={
            "fr": "Votre demande {number} a été appliquée",
            "en": "Your request {number} has been applied",
        },
        body={
            "fr": (
                "Bonjour {first_name},\n\nVotre demande {number} (« {title} ») a été appliquée "
                "le {applied_at}.\n\n{summary}Les changements seront affichés dans « Relations et "
                "autorisations » au plus tard le {visible_at}.\n\nVous pouvez suivre vos demandes "
                "dans « Mes demandes »."
            ),
            "en": (
                'Hello {first_name},\n\nYour request {number} ("{title}") was applied on '
                '{applied_at}.\n\n{summary}The changes will show in "Relations and authorizations" by '
                '{visible_at} at the latest.\n\nFollow your requests in "My requests".'
            ),
        },
        defaults={"summary": ""},
    ),
)

register(
    "request_rejected",
    Template(
        subject={
            "fr": "Votre demande {number} a été refusée",
            "en": "Your request {number} was rejected",
        },
        body={
            "fr": (
                "Bonjour {first_name},\n\nVotre demande {number} (« {title} ») a été refusée "
                "par un agent le {rejected_at}.\n\nMotif : {reason}\n\nVous pouvez consulter "
                "vos demandes dans « Mes demandes »."
            ),
            "en": (
                'Hello {first_name},\n\nYour request {number} ("{title}") was rejected by an '
                "agent on {rejected_at}.\n\nReason: {reason}\n\nSee your requests in "
                '"My requests".'
            ),
        },
    ),
)

register(
    "modification_confirmation",
    Template(
        subject={
            "fr": "Confirmation des modifications à votre dossier",
            "en": "Confirmation of the changes to your file",
        },
        body={
            "fr": (
                "Bonjour {first_name} {last_name},\n\nLes modifications demandées à vos "
                "informations au dossier de {organisation_name} ont été apportées "
                "(demande {number}).\n\nSi vous n'êtes pas à l'origine de ces modifications, "
                "communiquez avec le responsable de votre organisation."
            ),
            "en": (
                "Hello {first_name} {last_name},\n\nThe requested changes to your information "
                "in the file of {organisation_name} have been made (request {number}).\n\nIf "
                "you did not ask for them, contact the person in charge of your organisation."
            ),
        },
    ),
)
