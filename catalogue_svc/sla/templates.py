"""The escalation emails of the validation queue, to its supervisors."""

from ..notifications.templates import Template, register

register(
    "validation_escalation",
    Template(
        subject={
            "fr": "Demande {number} : {headline}",
            "en": "Request {number}: {headline_en}",
        },
        body={
            "fr": (
                "Bonjour {first_name},\n\nLa demande {number} (« {title} ») de {organisation} "
                "attend la validation d'un agent depuis le {entered_at}.\n\n{situation}\n\n"
                "Échéance : {due_at}.\nPrise en charge : {claimed_by}.\n\n"
                "Elle est dans la file de validation : {base_url}/#/agent/demandes/{number}"
            ),
            "en": (
                'Hello {first_name},\n\nRequest {number} ("{title}") of {organisation} has '
                "been waiting for an agent's validation since {entered_at}.\n\n{situation_en}\n\n"
                "Due: {due_at}.\nClaimed by: {claimed_by}.\n\n"
                "It is in the validation queue: {base_url}/#/agent/demandes/{number}"
            ),
        },
    ),
)
