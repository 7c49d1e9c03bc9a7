"""HTTP schemas of the catalogue and requests."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from forms import registry
from workflows import State

from ..documents.schemas import DocumentSchema
from ..schemas import Id, PageArgs, StrictSchema, free_text, lang_arg

STATES = [state.value for state in State]


class SubmitSchema(StrictSchema):
    item = fields.String(required=True, validate=validate.Length(min=1, max=80))
    variables = fields.Dict(required=True, keys=fields.String())


class RequestListArgs(PageArgs):
    """The filters of the firm's requests (each optional; together they all apply)."""

    state = fields.String(
        validate=validate.OneOf(STATES), metadata={"description": "L'état de la demande"}
    )
    item = fields.String(
        validate=validate.OneOf(
            sorted(registry.REGISTRY), error="Formulaire inconnu du catalogue."
        ),
        metadata={"description": "Le formulaire (son identifiant dans le catalogue)"},
    )
    submitter = Id(metadata={"description": "Le compte qui a soumis (``submitted_by_account_id``)"})
    contact = Id(
        metadata={"description": "Le contact existant dont la demande parle (ou qu'elle fusionne)"}
    )
    from_date = fields.Date(
        data_key="from",
        metadata={"description": "Soumises ce jour-là ou après (heure de Montréal)"},
    )
    to_date = fields.Date(
        data_key="to",
        metadata={"description": "Soumises ce jour-là ou avant (heure de Montréal)"},
    )

    @validates_schema
    def _dates_in_order(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("from_date"), data.get("to_date")
        if start is not None and end is not None and end < start:  # type: ignore[operator]
            raise ValidationError(
                "La date de fin (to) doit être le même jour que la date de début (from) ou après.",
                field_name="to",
            )


class CommentSchema(StrictSchema):
    body = fields.String(required=True, validate=[validate.Length(min=1, max=5000), free_text])
    internal = fields.Boolean(load_default=False)
    asks_answer = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Une question de l'agent qui a pris la demande en charge : le délai "
            "de validation est suspendu jusqu'à la réponse du demandeur (un commentaire de sa "
            "part le reprend)"
        },
    )


class DescribeArgs(StrictSchema):
    profile_id = Id()
    lang = lang_arg()


class RequestSummarySchema(StrictSchema):
    number = fields.String()
    item = fields.String()
    title = fields.String()
    state = fields.String()
    state_label = fields.String()
    awaiting_system = fields.Boolean(
        metadata={
            "description": "Vrai quand la prochaine étape revient au service (vérification des "
            "doublons, application) : l'état changera sans intervention de personne"
        }
    )
    profile_id = fields.Integer()
    submitted_at = fields.String()
    submitted_by = fields.String()
    submitted_by_account_id = fields.Integer(
        metadata={"description": "Le compte qui a soumis (le filtre ``submitter``)"}
    )
    applied_at = fields.String(allow_none=True)
    visible_at = fields.String(allow_none=True)
    expected_decision = fields.String(
        allow_none=True,
        metadata={
            "format": "date",
            "description": "En validation par un agent : le jour où la décision est due "
            "(jours ouvrables du Québec), sauf pendant l'attente de la réponse du demandeur",
        },
    )
    expected_decision_text = fields.String(
        allow_none=True,
        metadata={
            "description": "La même chose en phrase, ou depuis quand la demande attend la "
            "réponse du demandeur",
            "example": "Décision prévue au plus tard le 9 décembre 2026",
        },
    )
    awaiting_answer_since = fields.String(
        allow_none=True,
        metadata={
            "format": "date-time",
            "description": "Depuis quand la demande attend la réponse du demandeur à une "
            "question de l'agent (le délai est suspendu)",
        },
    )


# ---------------------------------------------------------------- answers
#
# The service builds these bodies as JSON; the schemas document them (views use
# ``blp.answers``) and tests/integration/test_fuzz_api.py checks every answer against them.


def _nullable_text() -> fields.String:
    """A string that is always present, possibly null."""
    return fields.String(required=True, allow_none=True)


class RequestPageSchema(StrictSchema):
    """*Mes demandes*: a page of requests, newest first."""

    items = fields.List(fields.Nested(RequestSummarySchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    states = fields.List(
        fields.Nested(lambda: StateChoiceSchema()),
        required=True,
        metadata={"description": "Les états, dans l'ordre du cycle de vie (le filtre ``state``)"},
    )
    submitters = fields.List(
        fields.Nested(lambda: SubmitterSchema()),
        metadata={
            "description": "Les personnes qui ont soumis des demandes du profil (le choix du "
            "filtre ``submitter`` ; pour un membre, lui-même)"
        },
    )


class StateChoiceSchema(StrictSchema):
    value = fields.String(required=True)
    label = fields.String(required=True)


class SubmitterSchema(StrictSchema):
    account_id = fields.Integer(required=True)
    name = fields.String(required=True)


class HistoryEntrySchema(StrictSchema):
    at = fields.String(required=True, metadata={"format": "date-time"})
    trigger = fields.String(required=True)
    trigger_label = fields.String(
        required=True,
        metadata={"description": "L'événement en mots", "example": "Prise en charge par un agent"},
    )
    from_state = _nullable_text()
    to_state = _nullable_text()
    to_state_label = _nullable_text()
    actor = _nullable_text()
    reason = _nullable_text()


class CommentOutSchema(StrictSchema):
    """A comment as readers see it (``internal`` ones only by agents)."""

    at = fields.String(required=True, metadata={"format": "date-time"})
    author = fields.String(required=True)
    author_kind = fields.String(required=True, metadata={"description": "submitter | agent"})
    body = fields.String(required=True)
    internal = fields.Boolean(required=True)
    asks_answer = fields.Boolean(
        required=True, metadata={"description": "Une question qui attend la réponse du demandeur"}
    )


class VisibilitySchema(StrictSchema):
    visible_at = fields.String(required=True, metadata={"format": "date-time"})
    visible = fields.Boolean(required=True)


class LinkedRequestSchema(StrictSchema):
    number = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True, metadata={"description": "Libellé de l'état"})
    reason = _nullable_text()


class OrganisationNameSchema(StrictSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    client_number = fields.String(required=True, allow_none=True)


class NamedContactSchema(StrictSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class RequestDetailSchema(RequestSummarySchema):
    """One request: what its reader may see (the last four fields: agents only)."""

    organisation = fields.Nested(
        OrganisationNameSchema,
        required=True,
        metadata={"description": "L'organisation du profil (nom et numéro de client)"},
    )
    operations = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Ce que la demande fait (ou a fait) au dossier, en phrases : "
            "les noms tels qu'ils étaient à la soumission",
            "example": [
                "Ajouter Marie-Karine Bérard comme Membre du personnel de LAFORCE "
                "COMPTABLE INC (1234567890)"
            ],
        },
    )
    contacts = fields.List(
        fields.Nested(NamedContactSchema),
        required=True,
        metadata={"description": "Les contacts existants dont la demande parle, par leur nom"},
    )
    variables = fields.Dict(required=True)
    reason = _nullable_text()
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    comments = fields.List(fields.Nested(CommentOutSchema), required=True)
    visibility = fields.Nested(VisibilitySchema, required=True, allow_none=True)
    linked_requests = fields.List(fields.Nested(LinkedRequestSchema), required=True)
    documents = fields.List(
        fields.Nested(DocumentSchema),
        required=True,
        metadata={"description": "Les documents joints, dans l'ordre où ils l'ont été"},
    )
    actions = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Ce que le demandeur (ou un gestionnaire) peut encore faire : cancel "
            "(annuler), join_document (joindre un document); vide pour les agents (leurs actions "
            "sont dans la file) et une fois la demande décidée",
            "example": ["cancel", "join_document"],
        },
    )
    duplicate_candidates = fields.List(fields.Dict(), metadata={"description": "Agents seulement"})
    claimed_by_account_id = fields.Integer(
        allow_none=True, metadata={"description": "Agents seulement"}
    )
    changeset = fields.List(fields.Dict(), metadata={"description": "Agents seulement"})
    merge_with_contact_id = fields.Integer(
        allow_none=True,
        metadata={"description": "Agents seulement : le contact existant choisi (fusion)"},
    )


class LabelledSchema(StrictSchema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class CatalogueItemSchema(StrictSchema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    popular = fields.Boolean(required=True)


class CategorySchema(LabelledSchema):
    items = fields.List(fields.Nested(CatalogueItemSchema), required=True)


class CatalogueEntrySchema(LabelledSchema):
    categories = fields.List(fields.Nested(CategorySchema), required=True)


class CatalogueSchema(StrictSchema):
    """Catalogues › categories › items."""

    catalogues = fields.List(fields.Nested(CatalogueEntrySchema), required=True)


class ChoiceSchema(StrictSchema):
    value = fields.Raw(required=True)
    label = fields.String(required=True)
    group = fields.String()
    group_label = fields.String()
    parent = fields.Raw()
    help = fields.String(
        metadata={"description": "Ce que le choix permet (la description d'un sujet autorisé)"}
    )


class FormFieldSchema(StrictSchema):
    """One field of a form (``fields``: the sub-fields of a group, phones or address)."""

    name = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)
    required = fields.Boolean(required=True)
    many = fields.Boolean(required=True)
    default = fields.Raw(required=True, allow_none=True)
    choices = fields.List(fields.Nested(ChoiceSchema))
    choices_source = fields.String()
    choices_depend_on = fields.String()
    shown_when = fields.Dict()
    help = fields.String()
    current_value_source = fields.String()
    placeholder = fields.String()
    subfields = fields.List(fields.Nested(lambda: FormFieldSchema()), data_key="fields")


class FormDescriptionSchema(StrictSchema):
    """A form: its fields, their types, choices, defaults and conditions."""

    slug = fields.String(required=True)
    version = fields.Integer(required=True)
    catalogue = fields.Nested(LabelledSchema, required=True)
    category = fields.Nested(LabelledSchema, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    notes = fields.List(fields.String(), required=True)
    validation_rule = fields.String(required=True)
    requires_authority = fields.Boolean(required=True)
    authority_relations = fields.List(fields.String(), required=True)
    popular = fields.Boolean(required=True)
    form_fields = fields.List(fields.Nested(FormFieldSchema), required=True, data_key="fields")
