"""HTTP schemas of the agents' calls."""

from __future__ import annotations

from marshmallow import fields, validate

from forms import registry

from ..requests.schemas import RequestSummarySchema
from ..schemas import Id, PageArgs, StrictSchema, free_text


class QueueArgs(PageArgs):
    state = fields.String(
        validate=validate.OneOf(["agent_validation", "failed"]),
        metadata={
            "description": "agent_validation (à valider) ou failed (en erreur); les deux par défaut"
        },
    )
    form = fields.String(
        validate=validate.OneOf(sorted(registry.REGISTRY)),
        metadata={
            "description": "Le formulaire (son identifiant au catalogue, ex. update-contact)"
        },
    )
    organisation = Id(metadata={"description": "L'organisation (son numéro de profil)"})
    claimed = fields.String(
        validate=validate.OneOf(["me", "nobody", "others", "true", "false"]),
        metadata={
            "description": "me : prises en charge par moi; nobody : par personne (ou dont la "
            "prise en charge est échue); others : par un autre agent. true et false (anciennes "
            "valeurs) : prises en charge par quelqu'un, par personne"
        },
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Recherche : le numéro de la demande, une partie du nom de "
            "l'organisation, ou son numéro de client"
        },
    )


class ApproveSchema(StrictSchema):
    merge_with_contact_id = Id(
        allow_none=True,
        load_default=None,
        metadata={"description": "Fusion : le doublon (contact existant) qui remplace le nouveau"},
    )
    create_new_contact = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Créer un nouveau contact malgré un doublon probable (sinon, avec un "
            "doublon probable, l'approbation exige un choix)"
        },
    )


class ReassignSchema(StrictSchema):
    account_id = Id(
        required=True,
        metadata={"description": "Le compte de l'agent qui prend la demande en charge"},
    )


class AgentMeSchema(StrictSchema):
    """The agent's own account: what the portal shows them."""

    account_id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"example": "Alex Agent"})
    supervisor = fields.Boolean(
        required=True,
        metadata={
            "description": "Superviseur de la file : voit qui a pris chaque demande, la confie "
            "à un autre agent, lit les indicateurs"
        },
    )


class AgentSchema(StrictSchema):
    """An agent a request can be handed to."""

    account_id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"example": "Bea Autre"})
    email = fields.String(required=True)


class AgentListSchema(StrictSchema):
    """The agents (accounts not disabled), by last name."""

    items = fields.List(fields.Nested(AgentSchema), required=True)


class RejectSchema(StrictSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), free_text])


class QueueItemSchema(RequestSummarySchema):
    """A request waiting for an agent."""

    age_seconds = fields.Integer(required=True)
    claimed_by_account_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "L'agent qui l'a prise en charge"}
    )
    candidates = fields.Integer(required=True, metadata={"description": "Doublons possibles"})
    probable_candidates = fields.Integer(
        required=True, metadata={"description": "Doublons probables (une décision est requise)"}
    )
    reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Le motif (en erreur : la cause)"}
    )
    actions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Les actions permises dans cet état (claim, approve… retry)"},
    )
    due_at = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "format": "date-time",
            "description": "L'échéance de la validation (jours et heures ouvrables du Québec); "
            "null en erreur",
        },
    )
    overdue = fields.Boolean(
        required=True, metadata={"description": "En retard : l'échéance est passée, le délai court"}
    )
    due_text = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Le temps qui reste ou le retard, en temps ouvrable",
            "example": "Échéance dans 3 h ouvrables",
        },
    )


class QueueFiguresSchema(StrictSchema):
    agent_validation = fields.Integer(required=True, metadata={"description": "À valider"})
    failed = fields.Integer(required=True, metadata={"description": "En erreur"})
    overdue = fields.Integer(required=True, metadata={"description": "En retard"})
    awaiting_answer = fields.Integer(
        required=True, metadata={"description": "En attente de la réponse du demandeur"}
    )
    oldest_age_seconds = fields.Integer(
        required=True, allow_none=True, metadata={"description": "L'âge de la plus ancienne"}
    )


class FormFiguresSchema(StrictSchema):
    form = fields.String(required=True)
    title = fields.String(required=True)
    received = fields.Integer(required=True, metadata={"description": "Entrées dans la file"})
    decided = fields.Integer(required=True, metadata={"description": "Approuvées ou refusées"})
    within_target = fields.Integer(required=True, metadata={"description": "Décidées à temps"})
    median_business_hours = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "Heures ouvrables médianes jusqu'à la décision (sans l'attente)"},
    )


class StatsSchema(StrictSchema):
    """The queue's figures, for supervisors."""

    since = fields.String(required=True, metadata={"format": "date-time"})
    queue = fields.Nested(QueueFiguresSchema, required=True)
    forms = fields.List(fields.Nested(FormFiguresSchema), required=True)


class QueuePageSchema(StrictSchema):
    """The validation queue, overdue first, then by due time."""

    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
