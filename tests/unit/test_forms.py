"""Unit tests of the catalogue forms (``forms``): registry, descriptions, validation, changesets.

Pure: the profile is the guide's demo firm LAFORCE COMPTABLE INC, built by hand as a
``ProfileView``, with its clients ENTREPRISE SHAW INC. and PLOMBERIE RICHARD BELANGER.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest

from forms import messages
from forms.base import BuildOptions, FormDefinition, FormValidationError
from forms.changeset import (
    AddContact,
    AddContactRelation,
    AddPhone,
    EndContactRelation,
    GrantSubject,
    IssueLinkingCredentials,
    NotifyContact,
    Operation,
    RevokeGrant,
    UpdateContact,
    UpdateContactAddress,
    UpdateOrganisation,
    UpdateOrganisationAddress,
    UpdateRelationEndDate,
)
from forms.profile import (
    ContactInfo,
    GrantInfo,
    OrgInfo,
    OrgRelationInfo,
    PhoneInfo,
    ProfileView,
    RelationInfo,
    SubjectInfo,
)
from forms.registry import REGISTRY, UnknownForm, catalogue, get, popular, require
from tests.submissions import add_new_member

TODAY = dt.date(2025, 10, 24)
END = dt.date(9999, 12, 31)

# --------------------------------------------------------------------------- the demo firm

FIRM, SHAW, PLOMBERIE, STRANGER_ORG = 1, 2, 3, 4
REBECCA, MARIE_KARINE, MARIE_HELENE, SOLE_RESPONSABLE = 10, 11, 12, 13
OTHER_FIRM_CONTACT = 99
R_REBECCA, R_MK, R_MH_MEMBRE, R_MH_INDIVIDU = 100, 101, 102, 103
OR_SHAW, OR_PLOMBERIE = 21, 22
G_FIRM_SHAW_RAPPORT, G_FIRM_SHAW_MAIN, G_FIRM_SHAW_RELEVES, G_FIRM_PLOMBERIE = 500, 501, 502, 503
G_MK_OWN, G_MK_SHAW, G_MH_SHAW, G_MH_OWN, G_MH_EMPLOYER = 600, 601, 602, 603, 604

SUBJECTS = {
    s.code: s
    for s in (
        SubjectInfo("rapport_mensuel", "Rapport mensuel", "Monthly report", "paiements_releves"),
        SubjectInfo("releves", "Relevés de paiement", "Payment statements", "paiements_releves"),
        SubjectInfo(
            "main_oeuvre",
            "Gestion de main-d'œuvre",
            "Workforce management",
            "chantier_conformite",
            unavailable_in_delegation=True,
        ),
        SubjectInfo("conformite", "Conformité", "Compliance", "chantier_conformite"),
        SubjectInfo("profil_dossier", "Profil du dossier", "File profile", "profil"),
    )
}


def phone(number: str = "514 555-0101", type_: str = "cellulaire") -> PhoneInfo:
    """A North American phone as the store keeps it."""
    return PhoneInfo(type_, "Amérique du Nord", "+1", number, None)


def contact(id_: int, first: str, last: str, email: str | None = None) -> ContactInfo:
    """A contact of the demo firm."""
    return ContactInfo(
        id=id_,
        first_name=first,
        last_name=last,
        birth_date=dt.date(1985, 3, 14),
        email=email,
        language="fr",
        client_number=None,
        phones=(phone(),),
        address=None,
    )


def relation(id_: int, contact_id: int, type_: str, org: int = FIRM) -> RelationInfo:
    """An active relation to an organisation."""
    return RelationInfo(id_, contact_id, org, type_, dt.date(2024, 1, 1), END, True)


def grant(
    id_: int,
    code: str,
    owner: int,
    right: str,
    *,
    contact_id: int | None = None,
    relation_id: int | None = None,
    org_relation_id: int | None = None,
) -> GrantInfo:
    """An active grant, held by the firm unless ``contact_id`` is given."""
    return GrantInfo(
        id=id_,
        subject_code=code,
        owner_organisation_id=owner,
        right=right,
        holder_contact_id=contact_id,
        holder_organisation_id=None if contact_id is not None else FIRM,
        contact_relation_id=relation_id,
        organisation_relation_id=org_relation_id,
        active=True,
    )


def demo_view(*, responsables: int = 1) -> ProfileView:
    """LAFORCE COMPTABLE INC: one responsable (two with ``responsables=2``), two members."""
    contacts = [
        contact(REBECCA, "REBECCA", "DESCOTEAUX-LAFORCE", "rebecca@laforce.example"),
        contact(MARIE_KARINE, "Marie-Karine", "Bérard", "mk@laforce.example"),
        contact(MARIE_HELENE, "Marie-Hélène", "Demierre", None),
    ]
    relations = [
        relation(R_REBECCA, REBECCA, "responsable"),
        relation(R_MK, MARIE_KARINE, "membre_personnel"),
        relation(R_MH_MEMBRE, MARIE_HELENE, "membre_personnel"),
        relation(R_MH_INDIVIDU, MARIE_HELENE, "individu_autorise"),
    ]
    if responsables == 2:
        contacts.append(contact(SOLE_RESPONSABLE, "Paul", "Laforce", "paul@laforce.example"))
        relations.append(relation(104, SOLE_RESPONSABLE, "responsable"))
    return ProfileView(
        organisation=OrgInfo(FIRM, "LAFORCE COMPTABLE INC", "1000001", "accounting_firm"),
        contacts={c.id: c for c in contacts},
        relations=tuple(relations),
        related_organisations={
            SHAW: OrgInfo(SHAW, "ENTREPRISE SHAW INC.", "2000002", "employer"),
            PLOMBERIE: OrgInfo(PLOMBERIE, "PLOMBERIE RICHARD BELANGER", "3000003", "employer"),
        },
        org_relations=(
            OrgRelationInfo(OR_SHAW, SHAW, FIRM, "firme_comptable", True),
            OrgRelationInfo(OR_PLOMBERIE, PLOMBERIE, FIRM, "firme_comptable", True),
        ),
        grants=(
            grant(G_FIRM_SHAW_RAPPORT, "rapport_mensuel", SHAW, "write", org_relation_id=OR_SHAW),
            grant(G_FIRM_SHAW_MAIN, "main_oeuvre", SHAW, "write", org_relation_id=OR_SHAW),
            grant(G_FIRM_SHAW_RELEVES, "releves", SHAW, "read", org_relation_id=OR_SHAW),
            grant(G_FIRM_PLOMBERIE, "rapport_mensuel", PLOMBERIE, "write"),
            grant(G_MK_OWN, "rapport_mensuel", FIRM, "write", contact_id=MARIE_KARINE,
                  relation_id=R_MK),
            grant(G_MK_SHAW, "rapport_mensuel", SHAW, "write", contact_id=MARIE_KARINE,
                  relation_id=R_MK, org_relation_id=OR_SHAW),
            grant(G_MH_SHAW, "releves", SHAW, "read", contact_id=MARIE_HELENE,
                  relation_id=R_MH_MEMBRE, org_relation_id=OR_SHAW),
            grant(G_MH_OWN, "profil_dossier", FIRM, "write", contact_id=MARIE_HELENE,
                  relation_id=R_MH_INDIVIDU),
            # Held through Marie-Hélène's own relation with SHAW: not the firm's to touch.
            grant(G_MH_EMPLOYER, "conformite", SHAW, "write", contact_id=MARIE_HELENE,
                  relation_id=900),
        ),
        subjects=SUBJECTS,
    )  # fmt: skip


VIEW = demo_view()


def with_relation(changed: RelationInfo) -> ProfileView:
    """The demo view with one relation replaced by ``changed`` (same id)."""
    others = (r for r in VIEW.relations if r.id != changed.id)
    return replace(VIEW, relations=(*others, changed))


ADD = REGISTRY["add-relation"]
REMOVE = REGISTRY["remove-relation"]
UPDATE = REGISTRY["update-contact"]
CONTACT_ADDRESS = REGISTRY["update-contact-address"]
ORGANISATION = REGISTRY["update-organisation"]
ORGANISATION_ADDRESS = REGISTRY["update-organisation-address"]

ATTESTED = {"attestation": True}
ADDRESS = {"street": "1200 rue Sherbrooke Est", "city": "Montréal", "postal_code": "h2l 1l9"}

NEW_MEMBER = {
    "first_name": "Julie",
    "last_name": "Tremblay",
    "birth_date": "1990-05-17",
    "email": "julie.tremblay@laforce.example",
    "language": "fr",
    "phones": [{"type": "cellulaire", "number": "(514) 555-0199"}],
}

# One valid submission of each form.
VALID: dict[str, dict[str, Any]] = {
    "add-relation": add_new_member(NEW_MEMBER),
    "remove-relation": {"contact_id": MARIE_KARINE, "removal": "all_relations", **ATTESTED},
    "update-contact": {
        "contact_id": MARIE_KARINE,
        "sections": ["coordonnees"],
        "language": "en",
        **ATTESTED,
    },
    "update-contact-address": {"contact_id": MARIE_KARINE, "address": ADDRESS, **ATTESTED},
    "update-organisation": {"name": "LAFORCE COMPTABLE S.E.N.C.", **ATTESTED},
    "update-organisation-address": {"address": ADDRESS, **ATTESTED},
    "send-linking-credentials": {"contact_ids": [MARIE_KARINE], **ATTESTED},
}


def errors_of(form: FormDefinition, raw: dict[str, Any]) -> dict[str, list[str]]:
    """The validation errors of ``raw`` (fails the test when it validates)."""
    with pytest.raises(FormValidationError) as caught:
        form.validate(raw, today=TODAY)
    return caught.value.errors


def changeset_errors(
    form: FormDefinition, raw: dict[str, Any], view: ProfileView = VIEW
) -> dict[str, list[str]]:
    """The profile errors of a valid ``raw`` (fails the test when the changeset builds)."""
    variables = form.validate(raw, today=TODAY)
    with pytest.raises(FormValidationError) as caught:
        form.changeset(variables, view, BuildOptions(today=TODAY))
    return caught.value.errors


def build(
    form: FormDefinition,
    raw: dict[str, Any],
    view: ProfileView = VIEW,
    options: BuildOptions | None = None,
) -> list[Operation]:
    """Validate then build the changeset of ``raw``."""
    variables = form.validate(raw, today=TODAY)
    return form.changeset(variables, view, options or BuildOptions(today=TODAY))


def add(**variables: Any) -> dict[str, Any]:
    """An *Ajouter une relation* submission for an existing contact, attested."""
    raw: dict[str, Any] = {
        "contact_id": MARIE_KARINE,
        "relation_type": "membre_personnel",
        "attestation": True,
        "attestation_consent": True,
    }
    raw.update(variables)
    return raw


# --------------------------------------------------------------------------- registry


def test_registry_holds_every_form_of_the_guide() -> None:
    """The registry has the six forms of the guide, by slug, and the bulk sending of linking
    credentials (issue 18)."""
    assert set(REGISTRY) == {
        "send-linking-credentials",
        "add-relation",
        "remove-relation",
        "update-contact",
        "update-contact-address",
        "update-organisation",
        "update-organisation-address",
    }


def test_get_returns_none_for_an_unknown_slug() -> None:
    """``get`` answers ``None`` for a slug no form has."""
    assert get("nope") is None


def test_require_raises_a_french_lookup_error_for_an_unknown_slug() -> None:
    """``require`` raises ``UnknownForm`` (a ``LookupError``) naming the slug."""
    with pytest.raises(UnknownForm, match="Formulaire inconnu : nope"):
        require("nope")


def test_catalogue_lists_profil_with_autorisations_and_dossier_client() -> None:
    """Catalogue *Profil* › categories *Autorisations* and *Dossier client* › their items."""
    tree = catalogue("fr")
    assert [(c["code"], c["label"]) for c in tree] == [("profil", "Profil")]
    categories = {cat["label"]: [i["slug"] for i in cat["items"]] for cat in tree[0]["categories"]}
    assert categories == {
        "Autorisations": ["add-relation", "remove-relation", "send-linking-credentials"],
        "Dossier client": [
            "update-contact",
            "update-contact-address",
            "update-organisation",
            "update-organisation-address",
        ],
    }


def test_catalogue_items_carry_title_description_and_popularity() -> None:
    """Each item has its slug, French title, description and popular flag."""
    item = catalogue("fr")[0]["categories"][0]["items"][0]
    assert item == {
        "slug": "add-relation",
        "title": "Ajouter une relation ou des sujets autorisés à un contact",
        "description": (
            "Ce formulaire permet d'ajouter une relation ou des sujets autorisés à un contact "
            "d'une organisation."
        ),
        "popular": True,
    }


def test_catalogue_is_translated_in_english() -> None:
    """``catalogue("en")`` gives English labels and titles."""
    tree = catalogue("en")
    assert tree[0]["categories"][0]["label"] == "Authorizations"
    assert tree[0]["categories"][0]["items"][0]["title"].startswith("Add a relation")


def test_popular_items_are_those_the_guide_shows() -> None:
    """*Éléments populaires*: add, remove, organisation information, address."""
    assert [i["slug"] for i in popular()] == [
        "add-relation",
        "remove-relation",
        "update-organisation",
        "update-organisation-address",
    ]


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_form_needs_authority(slug: str) -> None:
    """Every form of the guide is for persons with authority on the profile."""
    form = REGISTRY[slug]
    assert form.requires_authority
    assert form.authority_relations == {"responsable", "administrateur_dossier", "dirigeant"}


@pytest.mark.parametrize(
    ("slug", "rule"),
    [
        ("add-relation", "client_number_or_candidates"),
        ("remove-relation", "never"),
        ("update-contact", "never"),
        ("update-contact-address", "never"),
        ("update-organisation", "never"),
        ("update-organisation-address", "never"),
    ],
)
def test_validation_rule_of_each_form(slug: str, rule: str) -> None:
    """Only the add form may go to an agent (client number given or duplicates found)."""
    assert REGISTRY[slug].validation_rule == rule


# --------------------------------------------------------------------------- descriptions


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_description_is_json(slug: str) -> None:
    """The description, choices filled from the profile, survives ``json.dumps``."""
    description = REGISTRY[slug].to_description("fr", today=TODAY, view=VIEW)
    assert json.loads(json.dumps(description))["slug"] == slug


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_schema_field_is_described(slug: str) -> None:
    """The fields a client sees are exactly the fields the schema accepts."""
    form = REGISTRY[slug]
    assert {f.name for f in form.fields} == set(form.schema().fields)


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_form_has_a_required_attestation(slug: str) -> None:
    """Every form ends with a required attestation box."""
    field = REGISTRY[slug].field("attestation")
    assert field is not None
    assert (field.type, field.required) == ("attestation", True)


def described(slug: str, name: str, **kwargs: Any) -> dict[str, Any]:
    """One field of a form's French description."""
    fields = REGISTRY[slug].to_description("fr", today=TODAY, **kwargs)["fields"]
    return next(f for f in fields if f["name"] == name)


def test_description_defaults_the_end_date_to_9999_12_31() -> None:
    """*Date de fin* defaults to 9999-12-31."""
    assert described("add-relation", "end_date")["default"] == "9999-12-31"


def test_description_defaults_the_start_date_to_today() -> None:
    """*Date de début* defaults to the day the form is described."""
    assert described("add-relation", "start_date")["default"] == "2025-10-24"


def test_description_shows_new_contact_when_the_box_is_checked() -> None:
    """The new member's information is shown when *Le contact n'existe pas* is checked."""
    field = described("add-relation", "new_contact")
    assert field["shown_when"] == {"field": "contact_does_not_exist", "equals": True}
    assert [f["name"] for f in field["fields"]] == [
        "first_name",
        "last_name",
        "birth_date",
        "email",
        "language",
        "phones",
        "client_number",
    ]


def test_description_fills_contacts_from_the_profile() -> None:
    """*Contact dans ce profil* offers the firm's contacts, sorted by name."""
    field = described("add-relation", "contact_id", view=VIEW)
    assert field["choices_source"] == "profile.contacts"
    assert [c["value"] for c in field["choices"]] == [MARIE_KARINE, MARIE_HELENE, REBECCA]


def test_description_offers_only_organisations_related_to_the_firm() -> None:
    """*Choisir l'organisation en relation* offers the firm's clients only."""
    field = described("add-relation", "related_organisation_id", view=VIEW)
    assert [c["label"] for c in field["choices"]] == [
        "ENTREPRISE SHAW INC. (2000002)",
        "PLOMBERIE RICHARD BELANGER (3000003)",
    ]


def test_description_offers_delegable_subjects_by_client() -> None:
    """A client's subjects are those the firm holds in write, phase-1 subjects left out."""
    field = described("add-relation", "organisation_subjects", view=VIEW)
    assert field["choices_depend_on"] == "related_organisation_id"
    assert [(c["parent"], c["value"]) for c in field["choices"]] == [
        (SHAW, "rapport_mensuel"),
        (PLOMBERIE, "rapport_mensuel"),
    ]


def test_description_groups_the_firm_subjects_by_category() -> None:
    """The firm's subjects come grouped: Chantier et conformité, Paiements et relevés, Profil."""
    field = described("add-relation", "subjects", view=VIEW)
    groups = [c["group_label"] for c in field["choices"]]
    assert list(dict.fromkeys(groups)) == [
        "Chantier et conformité",
        "Paiements et relevés",
        "Profil",
    ]


def test_description_offers_the_relations_of_each_contact() -> None:
    """The removal form's relations depend on the chosen contact."""
    field = described("remove-relation", "relation_ids", view=VIEW)
    assert [(c["parent"], c["value"]) for c in field["choices"]] == [
        (REBECCA, R_REBECCA),
        (MARIE_KARINE, R_MK),
        (MARIE_HELENE, R_MH_MEMBRE),
        (MARIE_HELENE, R_MH_INDIVIDU),
    ]


def test_description_offers_only_the_grants_the_firm_gave() -> None:
    """A contact's grants through another organisation are not offered for removal."""
    field = described("remove-relation", "grant_ids", view=VIEW)
    offered = {c["value"] for c in field["choices"] if c["parent"] == MARIE_HELENE}
    assert offered == {G_MH_SHAW, G_MH_OWN}


def test_description_shows_the_email_as_a_notice_only() -> None:
    """The modification form shows the email with the guide's notice, not as an input."""
    field = described("update-contact", "email")
    assert (field["type"], field["help"]) == ("email_notice", messages.EMAIL_NOT_EDITABLE)


def test_description_of_the_removal_carries_the_guide_note() -> None:
    """The removal choice carries the note on the subjects tied to the relations."""
    assert described("remove-relation", "removal")["help"] == (
        "Le retrait de toutes les relations entraîne aussi le retrait des sujets autorisés qui "
        "y sont reliés."
    )


def test_description_in_english() -> None:
    """``to_description("en")`` labels fields in English."""
    fields = ADD.to_description("en", today=TODAY)["fields"]
    assert next(f for f in fields if f["name"] == "end_date")["label"] == "End date"


# --------------------------------------------------------------------------- validation (every form)


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_valid_example_validates(slug: str) -> None:
    """The example submission of each form is valid."""
    assert REGISTRY[slug].validate(VALID[slug], today=TODAY)


@pytest.mark.parametrize("slug", sorted(REGISTRY))
@pytest.mark.parametrize("field", ["state", "organisation_id", "approved_by", "applied_at"])
def test_server_owned_fields_are_refused(slug: str, field: str) -> None:
    """A server-owned field in the variables is an error naming it."""
    errors = errors_of(REGISTRY[slug], {**VALID[slug], field: "x"})
    assert errors == {field: [messages.SERVER_OWNED]}


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_unknown_fields_are_refused(slug: str) -> None:
    """A field the form does not have is an error naming it."""
    errors = errors_of(REGISTRY[slug], {**VALID[slug], "couleur": "bleu"})
    assert errors == {"couleur": [messages.UNKNOWN]}


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_unchecked_attestation_is_refused(slug: str) -> None:
    """An attestation left unchecked is an error in French."""
    errors = errors_of(REGISTRY[slug], {**VALID[slug], "attestation": False})
    assert errors == {"attestation": [messages.ATTESTATION]}


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_variables_must_be_an_object(slug: str) -> None:
    """Variables that are not an object are refused as a whole."""
    with pytest.raises(FormValidationError) as caught:
        REGISTRY[slug].validate(["x"])  # type: ignore[arg-type]
    assert caught.value.errors == {"_schema": [messages.NOT_A_MAPPING]}


def test_every_error_is_reported_at_once() -> None:
    """Missing, mistyped, unknown and server-owned fields come back together."""
    errors = errors_of(ADD, {"contact_id": "abc", "state": "applied", "x": 1})
    assert set(errors) == {
        "contact_id",
        "relation_type",
        "attestation",
        "attestation_consent",
        "state",
        "x",
    }


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_changeset_refuses_another_profile(slug: str) -> None:
    """*Profil concerné* must be the profile of the request."""
    errors = changeset_errors(REGISTRY[slug], {**VALID[slug], "profile_id": SHAW})
    assert errors == {"profile_id": [messages.WRONG_PROFILE]}


# --------------------------------------------------------------------------- add: validation


def test_add_missing_fields_are_named() -> None:
    """Without a contact, a relation or the boxes, each missing field is named."""
    errors = errors_of(ADD, {})
    assert errors == {
        "contact_id": [messages.REQUIRED],
        "relation_type": [messages.REQUIRED],
        "attestation": [messages.REQUIRED],
        "attestation_consent": [messages.REQUIRED],
    }


def test_add_new_contact_requires_personal_information() -> None:
    """*Le contact n'existe pas* without the new member's information is an error."""
    errors = errors_of(ADD, add(contact_id=None, contact_does_not_exist=True))
    assert errors == {"new_contact": [messages.REQUIRED]}


def test_add_new_contact_requires_names_birth_date_and_email() -> None:
    """The new member's first and last names, birth date and email are required."""
    errors = errors_of(ADD, add(contact_id=None, contact_does_not_exist=True, new_contact={}))
    assert errors == {
        f"new_contact.{name}": [messages.REQUIRED]
        for name in ("first_name", "last_name", "birth_date", "email")
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "julie@", "Adresse courriel invalide."),
        ("birth_date", "17/05/1990", "Date invalide (format attendu : AAAA-MM-JJ)."),
        ("birth_date", "2030-01-01", messages.BIRTH_DATE_FUTURE),
        ("first_name", "   ", messages.BLANK),
        ("language", "de", "Doit être l'une des valeurs suivantes : fr, en."),
        ("client_number", "AB_12", messages.CLIENT_NUMBER),
    ],
)
def test_add_new_contact_bad_values_are_named(field: str, value: str, message: str) -> None:
    """A bad value in the new member's information is named by its path, in French."""
    raw = add(
        contact_id=None, contact_does_not_exist=True, new_contact={**NEW_MEMBER, field: value}
    )
    assert errors_of(ADD, raw) == {f"new_contact.{field}": [message]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contact_id", "abc", "Doit être un nombre entier."),
        ("contact_id", True, "Doit être un nombre entier."),
        ("relation_type", "responsable", None),
        ("start_date", "24/10/2025", "Date invalide (format attendu : AAAA-MM-JJ)."),
        ("other_organisation", "peut-être", "Doit être vrai ou faux."),
        ("subjects", "rapport_mensuel", "Doit être une liste."),
        ("subjects", ["rapport_mensuel", "rapport_mensuel"], messages.DUPLICATE_VALUE),
        ("attestation", "oui", "Doit être vrai ou faux."),
    ],
)
def test_add_wrong_types_are_named(field: str, value: Any, message: str | None) -> None:
    """A value of the wrong type is an error on that field alone."""
    errors = errors_of(ADD, add(**{field: value}))
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]


def test_add_relation_type_is_membre_du_personnel_or_individu_autorise() -> None:
    """Only *Membre du personnel* and *Individu autorisé* can be added."""
    errors = errors_of(ADD, add(relation_type="responsable"))
    assert errors == {
        "relation_type": [
            "Doit être l'une des valeurs suivantes : membre_personnel, individu_autorise."
        ]
    }


def test_add_start_date_defaults_to_today() -> None:
    """Without a start date, the relation starts the day of the submission."""
    assert ADD.validate(add(), today=TODAY)["start_date"] == TODAY


def test_add_end_date_defaults_to_9999_12_31() -> None:
    """Without an end date, the relation never ends."""
    assert ADD.validate(add(), today=TODAY)["end_date"] == END


def test_add_end_date_before_start_date_is_refused() -> None:
    """The end date may not come before the start date."""
    errors = errors_of(ADD, add(start_date="2025-10-24", end_date="2025-10-23"))
    assert errors == {"end_date": [messages.END_BEFORE_START]}


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"contact_does_not_exist": True, "new_contact": NEW_MEMBER}, "contact_id"),
        ({"new_contact": NEW_MEMBER}, "new_contact"),
        ({"other_organisation": True, "related_organisation_id": SHAW,
          "organisation_subjects": ["rapport_mensuel"], "subjects": ["releves"]}, "subjects"),
        ({"related_organisation_id": SHAW}, "related_organisation_id"),
        ({"organisation_subjects": ["rapport_mensuel"]}, "organisation_subjects"),
    ],
)  # fmt: skip
def test_add_fields_of_the_branch_not_chosen_are_refused(
    variables: dict[str, Any], field: str
) -> None:
    """A value for a field the checked boxes hide is an error, not silently dropped."""
    assert errors_of(ADD, add(**variables)) == {field: [messages.NOT_APPLICABLE]}


def test_add_rule_error_on_a_failing_group_is_named_by_the_group() -> None:
    """A form rule on a group whose parts also fail is named by the group, not ``_schema``."""
    errors = errors_of(ADD, add(new_contact={**NEW_MEMBER, "email": "julie@"}))
    assert errors == {
        "new_contact": [messages.NOT_APPLICABLE],
        "new_contact.email": ["Adresse courriel invalide."],
    }


def test_add_delegation_requires_an_organisation_and_a_subject() -> None:
    """*Une autre organisation* needs the organisation and at least one subject."""
    errors = errors_of(ADD, add(other_organisation=True))
    assert errors == {
        "related_organisation_id": [messages.REQUIRED],
        "organisation_subjects": [messages.CHOOSE_AT_LEAST_ONE],
    }


def test_add_subject_in_both_lists_is_refused() -> None:
    """A subject cannot be asked both in read/write and in read only."""
    errors = errors_of(ADD, add(subjects=["releves"], read_subjects=["releves"]))
    assert errors == {"read_subjects": [messages.SUBJECT_IN_BOTH_LISTS.format("releves")]}


# --------------------------------------------------------------------------- add: changeset


def test_add_new_contact_creates_it_with_relation_subjects_and_credentials() -> None:
    """A new member: contact, *Membre du personnel* relation, subjects, linking credentials."""
    operations = build(ADD, VALID["add-relation"])
    assert operations == [
        AddContact(
            ref="contact",
            first_name="Julie",
            last_name="Tremblay",
            birth_date=dt.date(1990, 5, 17),
            email="julie.tremblay@laforce.example",
            language="fr",
            phones=(
                {
                    "type": "cellulaire",
                    "territory": "Amérique du Nord",
                    "country_code": "+1",
                    "number": "514 555-0199",
                    "extension": None,
                },
            ),
            client_number=None,
        ),
        AddContactRelation(
            ref="relation",
            contact="new:contact",
            organisation_id=FIRM,
            type="membre_personnel",
            start_date=TODAY,
            end_date=END,
        ),
        GrantSubject(
            contact="new:contact",
            subject_code="rapport_mensuel",
            owner_organisation_id=FIRM,
            right="write",
            contact_relation="new:relation",
        ),
        IssueLinkingCredentials(contact="new:contact", organisation_id=FIRM),
    ]


def test_add_subjects_to_an_existing_relation() -> None:
    """An existing member who has the relation gets the subjects on it, no new relation."""
    operations = build(ADD, add(subjects=["conformite"], read_subjects=["releves"]))
    assert operations == [
        GrantSubject(MARIE_KARINE, "conformite", FIRM, "write", R_MK),
        GrantSubject(MARIE_KARINE, "releves", FIRM, "read", R_MK),
    ]


def test_add_relation_to_an_existing_contact_without_it() -> None:
    """An existing member gets a new relation of a type they do not have, with its dates."""
    operations = build(ADD, add(relation_type="individu_autorise", end_date="2026-06-30"))
    assert operations == [
        AddContactRelation(
            "relation", MARIE_KARINE, FIRM, "individu_autorise", TODAY, dt.date(2026, 6, 30)
        )
    ]


def test_add_delegation_grants_subjects_through_the_client_relation() -> None:
    """*Une autre organisation*: subjects on the client's dossier through the org relation."""
    raw = add(
        contact_id=MARIE_HELENE,
        other_organisation=True,
        related_organisation_id=SHAW,
        organisation_subjects=["rapport_mensuel"],
    )
    assert build(ADD, raw) == [
        GrantSubject(MARIE_HELENE, "rapport_mensuel", SHAW, "write", R_MH_MEMBRE, OR_SHAW)
    ]


def test_add_delegation_in_read_only_within_the_firm_right() -> None:
    """A subject the firm holds in read only can be delegated in read only."""
    raw = add(
        other_organisation=True,
        related_organisation_id=SHAW,
        organisation_read_subjects=["releves"],
    )
    assert build(ADD, raw) == [GrantSubject(MARIE_KARINE, "releves", SHAW, "read", R_MK, OR_SHAW)]


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        (
            {"contact_id": OTHER_FIRM_CONTACT, "subjects": ["releves"]},
            {"contact_id": [messages.CONTACT_NOT_IN_PROFILE]},
        ),
        (
            {"other_organisation": True, "related_organisation_id": STRANGER_ORG,
             "organisation_subjects": ["rapport_mensuel"]},
            {"related_organisation_id": [messages.ORGANISATION_NOT_RELATED]},
        ),
        (
            {"other_organisation": True, "related_organisation_id": SHAW,
             "organisation_subjects": ["profil_dossier"]},
            {"organisation_subjects.0": [messages.SUBJECT_NOT_HELD.format("Profil du dossier")]},
        ),
        (
            {"other_organisation": True, "related_organisation_id": SHAW,
             "organisation_subjects": ["releves"]},
            {"organisation_subjects.0": [messages.RIGHT_ABOVE_FIRM.format("Relevés de paiement")]},
        ),
        (
            {"other_organisation": True, "related_organisation_id": SHAW,
             "organisation_subjects": ["main_oeuvre"]},
            {"organisation_subjects.0": [
                messages.SUBJECT_NOT_DELEGABLE.format("Gestion de main-d'œuvre")
            ]},
        ),
        (
            {"subjects": ["releves", "inconnu"]},
            {"subjects.1": [messages.SUBJECT_UNKNOWN.format("inconnu")]},
        ),
    ],
    ids=[
        "contact-of-another-firm",
        "organisation-not-related",
        "subject-firm-does-not-hold",
        "right-above-the-firm",
        "phase-one-subject",
        "unknown-subject",
    ],
)  # fmt: skip
def test_add_profile_errors_are_named(
    variables: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """What does not fit the firm's profile is refused, naming the field."""
    assert changeset_errors(ADD, add(**variables)) == errors


def test_add_subject_already_held_changes_nothing() -> None:
    """Asking for a subject the contact already holds on that relation changes nothing."""
    errors = changeset_errors(ADD, add(subjects=["rapport_mensuel"]))
    assert errors == {"_schema": [messages.NOTHING_TO_CHANGE]}


def test_add_write_on_a_subject_held_in_read_replaces_the_grant() -> None:
    """A read grant asked in write is revoked and granted again in write."""
    raw = add(
        contact_id=MARIE_HELENE,
        other_organisation=True,
        related_organisation_id=PLOMBERIE,
        organisation_subjects=["rapport_mensuel"],
    )
    read_only = grant(700, "rapport_mensuel", PLOMBERIE, "read", contact_id=MARIE_HELENE,
                      relation_id=R_MH_MEMBRE, org_relation_id=OR_PLOMBERIE)  # fmt: skip
    upgraded = replace(VIEW, grants=(*VIEW.grants, read_only))
    assert build(ADD, raw, upgraded) == [
        RevokeGrant(700),
        GrantSubject(
            MARIE_HELENE, "rapport_mensuel", PLOMBERIE, "write", R_MH_MEMBRE, OR_PLOMBERIE
        ),
    ]


def test_add_merge_uses_the_existing_contact_instead_of_a_new_one() -> None:
    """Approved with a merge: no new contact; relation, grants and credentials use its id."""
    operations = build(ADD, VALID["add-relation"], options=BuildOptions(777, today=TODAY))
    assert operations == [
        AddContactRelation("relation", 777, FIRM, "membre_personnel", TODAY, END),
        GrantSubject(777, "rapport_mensuel", FIRM, "write", "new:relation"),
        IssueLinkingCredentials(contact=777, organisation_id=FIRM),
    ]


def test_add_merge_with_a_member_of_the_firm_reuses_their_relation() -> None:
    """Merged with a contact who already has the relation: the grants go on it."""
    raw = {**VALID["add-relation"], "subjects": ["conformite"]}
    operations = build(ADD, raw, options=BuildOptions(MARIE_KARINE, today=TODAY))
    assert operations == [
        GrantSubject(MARIE_KARINE, "conformite", FIRM, "write", R_MK),
        IssueLinkingCredentials(contact=MARIE_KARINE, organisation_id=FIRM),
    ]


def test_add_new_person_gives_what_duplicate_detection_compares() -> None:
    """``new_person`` gives names, birth date, email, E.164 phones and client number."""
    raw = {**VALID["add-relation"], "new_contact": {**NEW_MEMBER, "client_number": "123 456"}}
    assert ADD.new_person(ADD.validate(raw, today=TODAY)) == {
        "first_name": "Julie",
        "last_name": "Tremblay",
        "birth_date": dt.date(1990, 5, 17),
        "email": "julie.tremblay@laforce.example",
        "phones": ["+15145550199"],
        "client_number": "123456",
    }


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_optional_client_number_is_none(blank: str) -> None:
    """A blank optional text (here the new person's client number) loads as None; found by
    tests/integration/test_fuzz_api.py, where it used to be a 500 (the length check got None)."""
    raw = {**VALID["add-relation"], "new_contact": {**NEW_MEMBER, "client_number": blank}}
    assert ADD.validate(raw, today=TODAY)["new_contact"]["client_number"] is None


@pytest.mark.parametrize("slug", sorted(set(REGISTRY) - {"add-relation"}))
def test_new_person_is_none_when_no_person_is_created(slug: str) -> None:
    """Only the add form with *Le contact n'existe pas* creates a person."""
    form = REGISTRY[slug]
    assert form.new_person(form.validate(VALID[slug], today=TODAY)) is None


def test_add_new_person_is_none_for_an_existing_contact() -> None:
    """Adding subjects to an existing contact creates no person."""
    assert ADD.new_person(ADD.validate(add(), today=TODAY)) is None


# --------------------------------------------------------------------------- remove


def remove(**variables: Any) -> dict[str, Any]:
    """A *Retirer* submission for Marie-Hélène, attested."""
    return {"contact_id": MARIE_HELENE, "attestation": True, **variables}


def test_remove_all_relations_ends_them_and_revokes_every_grant_of_the_firm() -> None:
    """*Toutes les relations*: every relation ends, every grant tied to them goes, clients' too."""
    operations = build(REMOVE, remove(removal="all_relations"))
    assert operations == [
        RevokeGrant(G_MH_SHAW),
        RevokeGrant(G_MH_OWN),
        EndContactRelation(R_MH_MEMBRE, TODAY),
        EndContactRelation(R_MH_INDIVIDU, TODAY),
    ]


def test_remove_all_relations_leaves_grants_held_through_another_organisation() -> None:
    """A grant the contact holds through their own relation with a client is not the firm's."""
    operations = build(REMOVE, remove(removal="all_relations"))
    assert RevokeGrant(G_MH_EMPLOYER) not in operations


def test_remove_one_relation_ends_it_and_revokes_its_grants() -> None:
    """*Une ou plusieurs relation(s)*: the relation ends with the grants tied to it."""
    operations = build(REMOVE, remove(removal="relations", relation_ids=[R_MH_INDIVIDU]))
    assert operations == [RevokeGrant(G_MH_OWN), EndContactRelation(R_MH_INDIVIDU, TODAY)]


def test_remove_access_to_one_client_revokes_the_delegated_grants() -> None:
    """Removing the access to one client's dossier revokes the subjects delegated on it."""
    raw = remove(removal="relations", delegation_organisation_ids=[SHAW])
    assert build(REMOVE, raw) == [RevokeGrant(G_MH_SHAW)]


def test_remove_subjects_revokes_the_chosen_grants() -> None:
    """*Un ou plusieurs sujet(s) autorisé(s)*: only those grants are revoked."""
    assert build(REMOVE, remove(removal="subjects", grant_ids=[G_MH_OWN])) == [
        RevokeGrant(G_MH_OWN)
    ]


def test_remove_keeps_an_earlier_planned_end_date() -> None:
    """A relation planned to end before today ends at its planned date."""
    ending = RelationInfo(R_MK, MARIE_KARINE, FIRM, "membre_personnel", dt.date(2024, 1, 1),
                          dt.date(2025, 10, 1), True)  # fmt: skip
    view = with_relation(ending)
    operations = build(
        REMOVE, {**remove(removal="all_relations"), "contact_id": MARIE_KARINE}, view
    )
    assert operations[-1] == EndContactRelation(R_MK, dt.date(2025, 10, 1))


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        (
            {"contact_id": OTHER_FIRM_CONTACT, "removal": "all_relations"},
            {"contact_id": [messages.CONTACT_NOT_IN_PROFILE]},
        ),
        (
            {"removal": "relations", "relation_ids": [R_MH_MEMBRE, R_MK]},
            {"relation_ids.1": [messages.RELATION_NOT_OF_CONTACT.format(R_MK)]},
        ),
        (
            {"removal": "subjects", "grant_ids": [G_MK_OWN]},
            {"grant_ids.0": [messages.GRANT_NOT_OF_CONTACT.format(G_MK_OWN)]},
        ),
        (
            {"removal": "subjects", "grant_ids": [G_MH_EMPLOYER]},
            {"grant_ids.0": [messages.GRANT_NOT_OF_CONTACT.format(G_MH_EMPLOYER)]},
        ),
        (
            {"removal": "relations", "delegation_organisation_ids": [PLOMBERIE]},
            {"delegation_organisation_ids.0": [messages.NO_DELEGATION_ON.format(PLOMBERIE)]},
        ),
    ],
    ids=[
        "contact-of-another-firm",
        "relation-not-of-contact",
        "grant-of-another-contact",
        "grant-through-another-organisation",
        "no-delegation-on-that-client",
    ],
)
def test_remove_profile_errors_are_named(
    variables: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """What is not the contact's, through the firm, is refused, naming the field."""
    assert changeset_errors(REMOVE, remove(**variables)) == errors


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"removal": "all_relations"}, "contact_id"),
        ({"removal": "relations", "relation_ids": [R_REBECCA]}, "relation_ids"),
    ],
)
def test_remove_the_last_responsable_is_refused(variables: dict[str, Any], field: str) -> None:
    """A firm must keep someone in charge: its last *Responsable* cannot be removed."""
    errors = changeset_errors(REMOVE, {**remove(**variables), "contact_id": REBECCA})
    assert errors == {field: [messages.LAST_RESPONSABLE]}


def test_remove_a_responsable_when_another_remains() -> None:
    """With two responsables, one of them can be removed."""
    raw = {**remove(removal="all_relations"), "contact_id": REBECCA}
    assert build(REMOVE, raw, demo_view(responsables=2)) == [EndContactRelation(R_REBECCA, TODAY)]


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({}, {"removal": [messages.REQUIRED]}),
        ({"removal": "tout"}, {"removal": [
            "Doit être l'une des valeurs suivantes : all_relations, relations, subjects."]}),
        ({"removal": "relations"}, {"relation_ids": [messages.CHOOSE_AT_LEAST_ONE]}),
        ({"removal": "subjects"}, {"grant_ids": [messages.CHOOSE_AT_LEAST_ONE]}),
        ({"removal": "all_relations", "grant_ids": [G_MH_OWN]},
         {"grant_ids": [messages.NOT_APPLICABLE]}),
        ({"removal": "subjects", "grant_ids": [G_MH_OWN], "relation_ids": [R_MH_MEMBRE]},
         {"relation_ids": [messages.NOT_APPLICABLE]}),
        ({"removal": "relations", "relation_ids": ["x"]},
         {"relation_ids.0": ["Doit être un nombre entier."]}),
    ],
)  # fmt: skip
def test_remove_bad_input_is_named(variables: dict[str, Any], errors: dict[str, Any]) -> None:
    """The removal's choice and its list are checked together."""
    assert errors_of(REMOVE, remove(**variables)) == errors


# --------------------------------------------------------------------------- update contact


def update(**variables: Any) -> dict[str, Any]:
    """A modification of Marie-Karine, attested."""
    return {"contact_id": MARIE_KARINE, "attestation": True, **variables}


@pytest.mark.parametrize("email", ["nouvelle@laforce.example", None, ""])
def test_update_contact_email_is_refused_with_the_guide_message(email: str | None) -> None:
    """Any ``email`` gets *L'adresse courriel est modifiable dans la section Paramètres…*."""
    errors = errors_of(UPDATE, update(sections=["coordonnees"], language="en", email=email))
    assert errors == {
        "email": ["L'adresse courriel est modifiable dans la section Paramètres du compte."]
    }


def test_update_contact_every_section_at_once() -> None:
    """Language, phones, names, birth date, a relation's end date, a new linking code."""
    raw = update(
        sections=["coordonnees", "informations_personnelles", "date_fin_relation"],
        language="en",
        phones=[
            {"type": "bureau", "number": "514-555-0102", "extension": "12"},
            {"type": "cellulaire", "territory": "International", "country_code": "+33",
             "number": "6 12 34 56 78"},
        ],
        first_name="Marie-Karine",
        last_name="Bérard-Roy",
        birth_date="1985-03-15",
        relation_id=R_MK,
        relation_end_date="2026-12-31",
        issue_linking_code=True,
    )  # fmt: skip
    assert build(UPDATE, raw) == [
        UpdateContact(
            MARIE_KARINE,
            {"language": "en", "last_name": "Bérard-Roy", "birth_date": dt.date(1985, 3, 15)},
        ),
        AddPhone(
            MARIE_KARINE,
            {"type": "bureau", "territory": "Amérique du Nord", "country_code": "+1",
             "number": "514 555-0102", "extension": "12"},
        ),
        AddPhone(
            MARIE_KARINE,
            {"type": "cellulaire", "territory": "International", "country_code": "+33",
             "number": "612345678", "extension": None},
        ),
        UpdateRelationEndDate(R_MK, dt.date(2026, 12, 31)),
        IssueLinkingCredentials(MARIE_KARINE, FIRM),
        NotifyContact(
            MARIE_KARINE,
            "modification_confirmation",
            {
                "organisation_id": FIRM,
                "organisation_name": "LAFORCE COMPTABLE INC",
                "changes": ["birth_date", "language", "last_name", "phones", "relation_end_date"],
                "linking_credentials": True,
            },
        ),
    ]  # fmt: skip


def test_update_contact_only_a_new_linking_code() -> None:
    """*Émettre un nouveau code de liaison* alone reissues the credentials, nothing else."""
    assert build(UPDATE, update(issue_linking_code=True)) == [
        IssueLinkingCredentials(MARIE_KARINE, FIRM)
    ]


def test_update_contact_linking_code_needs_an_email() -> None:
    """Credentials cannot be sent to a contact without an email address."""
    errors = changeset_errors(
        UPDATE, {**update(issue_linking_code=True), "contact_id": MARIE_HELENE}
    )
    assert errors == {"issue_linking_code": [messages.NO_EMAIL_FOR_CREDENTIALS]}


def test_update_contact_without_email_is_not_notified() -> None:
    """A contact without an email gets the change but no confirmation email."""
    raw = {**update(sections=["coordonnees"], language="en"), "contact_id": MARIE_HELENE}
    assert build(UPDATE, raw) == [UpdateContact(MARIE_HELENE, {"language": "en"})]


def test_update_contact_current_values_change_nothing() -> None:
    """Submitting the current values is refused: nothing would change."""
    raw = update(
        sections=["coordonnees", "informations_personnelles"],
        language="fr",
        phones=[{"type": "cellulaire", "number": "514 555-0101"}],
        first_name="Marie-Karine",
    )
    assert changeset_errors(UPDATE, raw) == {"_schema": [messages.NOTHING_TO_CHANGE]}


def test_update_contact_language_none_keeps_the_current_value() -> None:
    """*- Aucun -* (null) keeps the current language."""
    raw = update(sections=["coordonnees"], language=None, phones=[{"type": "bureau",
                 "number": "4185550123"}])  # fmt: skip
    assert not any(isinstance(o, UpdateContact) for o in build(UPDATE, raw))


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({"language": "en"},
         {"language": [messages.SECTION_NOT_CHOSEN.format("Coordonnées de communication")]}),
        ({"sections": ["coordonnees"], "language": "en", "first_name": "Marie"},
         {"first_name": [messages.SECTION_NOT_CHOSEN.format("Informations personnelles")]}),
        ({"sections": ["informations_personnelles"]},
         {"sections": [messages.SECTION_EMPTY.format("Informations personnelles")]}),
        ({"sections": ["date_fin_relation"]},
         {"relation_id": [messages.REQUIRED], "relation_end_date": [messages.REQUIRED]}),
        ({"sections": ["coordonnees"], "phones": []},
         {"phones": ["Ce champ ne peut pas être vide."]}),
        ({"sections": ["adresse"]},
         {"sections.0": ["Doit être l'une des valeurs suivantes : coordonnees, "
                         "informations_personnelles, date_fin_relation."]}),
        ({"sections": ["date_fin_relation"], "relation_id": R_MK,
          "relation_end_date": "2025-10-01"},
         {"relation_end_date": [
             "La date de fin ne peut pas être dans le passé : pour retirer une relation dès "
             "maintenant, utilisez le formulaire « Retirer une relation ou des sujets autorisés à "
             "un contact »."]}),
        ({"contact_id": None}, {"contact_id": [messages.NULL]}),
    ],
)  # fmt: skip
def test_update_contact_bad_input_is_named(
    variables: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """Fields outside the chosen sections, empty sections and bad values are named."""
    assert errors_of(UPDATE, update(**variables)) == errors


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({"contact_id": OTHER_FIRM_CONTACT, "issue_linking_code": True},
         {"contact_id": [messages.CONTACT_NOT_IN_PROFILE]}),
        ({"sections": ["date_fin_relation"], "relation_id": R_MH_MEMBRE,
          "relation_end_date": "2026-01-01"},
         {"relation_id": [messages.RELATION_NOT_OF_CONTACT.format(R_MH_MEMBRE)]}),
    ],
    ids=["contact-of-another-firm", "relation-not-of-contact"],
)  # fmt: skip
def test_update_contact_profile_errors_are_named(
    variables: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """A contact of another firm, a relation of another contact: refused, naming the field."""
    assert changeset_errors(UPDATE, update(**variables)) == errors


def test_update_contact_end_date_before_the_relation_start_is_refused() -> None:
    """A relation's new end date may not come before its start date."""
    future = RelationInfo(R_MK, MARIE_KARINE, FIRM, "membre_personnel", dt.date(2026, 1, 1), END)
    view = with_relation(future)
    raw = update(sections=["date_fin_relation"], relation_id=R_MK, relation_end_date="2025-12-31")
    assert changeset_errors(UPDATE, raw, view) == {"relation_end_date": [messages.END_BEFORE_START]}


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"number": "5145550101"}, "514 555-0101"),
        ({"number": "(514) 555-0101"}, "514 555-0101"),
        ({"number": "1-514-555-0101"}, "514 555-0101"),
        ({"number": "+1 514 555 0101"}, "514 555-0101"),
        ({"territory": "International", "country_code": "+33", "number": "01 23 45 67 89"},
         "0123456789"),
    ],
)  # fmt: skip
def test_phone_numbers_are_stored_in_one_format(given: dict[str, str], stored: str) -> None:
    """North American numbers become ``999 999-9999``; others keep their digits."""
    raw = update(sections=["coordonnees"], phones=[{"type": "bureau", **given}])
    assert UPDATE.validate(raw, today=TODAY)["phones"][0]["number"] == stored


def test_phone_defaults_to_north_america_and_plus_one() -> None:
    """*Territoire téléphonique* defaults to *Amérique du Nord* and *Indicatif* to +1."""
    raw = update(sections=["coordonnees"], phones=[{"type": "bureau", "number": "5145550101"}])
    loaded = UPDATE.validate(raw, today=TODAY)["phones"][0]
    assert (loaded["territory"], loaded["country_code"]) == ("Amérique du Nord", "+1")


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({"number": "555-0101"}, {"number": [messages.PHONE_NANP]}),
        ({"number": "514555010a"}, {"number": [messages.PHONE_NANP]}),
        ({"number": "0145550101"}, {"number": [messages.PHONE_NANP]}),
        ({"country_code": "+33", "number": "0123456789"},
         {"country_code": [messages.PHONE_TERRITORY_CODE]}),
        ({"territory": "International", "country_code": "33", "number": "0123456789"},
         {"country_code": [messages.PHONE_COUNTRY_CODE]}),
        ({"territory": "International", "country_code": "+33", "number": "12"},
         {"number": [messages.PHONE_INTERNATIONAL]}),
        ({"number": "5145550101", "extension": "abc"}, {"extension": [messages.PHONE_EXTENSION]}),
        ({"number": "5145550101", "type": "pigeon"},
         {"type": ["Doit être l'une des valeurs suivantes : cellulaire, bureau, domicile, "
                   "telecopieur, autre."]}),
    ],
)  # fmt: skip
def test_bad_phone_numbers_are_named(given: dict[str, str], errors: dict[str, list[str]]) -> None:
    """A bad second phone is named ``phones.1.<field>``, in French."""
    phones = [{"type": "cellulaire", "number": "5145550101"}, {"type": "bureau", **given}]
    raw = update(sections=["coordonnees"], phones=phones)
    assert errors_of(UPDATE, raw) == {f"phones.1.{k}": v for k, v in errors.items()}


# --------------------------------------------------------------------------- addresses


def test_contact_address_is_replaced_and_the_contact_notified() -> None:
    """*Modifier l'adresse d'un individu autorisé*: the new address and a confirmation."""
    assert build(CONTACT_ADDRESS, VALID["update-contact-address"]) == [
        UpdateContactAddress(
            MARIE_KARINE,
            {
                "street": "1200 rue Sherbrooke Est",
                "city": "Montréal",
                "province": "QC",
                "postal_code": "H2L 1L9",
                "country": "CA",
            },
        ),
        NotifyContact(
            MARIE_KARINE,
            "modification_confirmation",
            {
                "organisation_id": FIRM,
                "organisation_name": "LAFORCE COMPTABLE INC",
                "changes": ["address"],
                "linking_credentials": False,
            },
        ),
    ]


def test_contact_address_of_another_firm_contact_is_refused() -> None:
    """The address of a contact outside the profile cannot be changed."""
    raw = {**VALID["update-contact-address"], "contact_id": OTHER_FIRM_CONTACT}
    assert changeset_errors(CONTACT_ADDRESS, raw) == {
        "contact_id": [messages.CONTACT_NOT_IN_PROFILE]
    }


def test_organisation_address_is_replaced() -> None:
    """*Modifier une adresse*: the organisation's new address."""
    raw = {**VALID["update-organisation-address"], "address": {**ADDRESS, "unit": "bureau 300"}}
    assert build(ORGANISATION_ADDRESS, raw) == [
        UpdateOrganisationAddress(
            FIRM,
            {
                "street": "1200 rue Sherbrooke Est",
                "unit": "bureau 300",
                "city": "Montréal",
                "province": "QC",
                "postal_code": "H2L 1L9",
                "country": "CA",
            },
        )
    ]


def test_foreign_address_keeps_its_own_postal_code() -> None:
    """Outside Canada the postal code and region are free text."""
    address = {**ADDRESS, "country": "us", "province": "Vermont", "postal_code": "05401"}
    loaded = ORGANISATION_ADDRESS.validate({**ATTESTED, "address": address}, today=TODAY)
    assert loaded["address"]["postal_code"] == "05401"


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({"postal_code": "12345"}, {"postal_code": [messages.POSTAL_CODE]}),
        ({"postal_code": "D1A 1A1"}, {"postal_code": [messages.POSTAL_CODE]}),
        ({"province": "XX"}, {"province": [messages.PROVINCE]}),
        ({"country": "Canada"}, {"country": ["Doit compter au plus 2 caractères."]}),
        ({"street": ""}, {"street": [messages.BLANK]}),
        ({"city": None}, {"city": [messages.NULL]}),
    ],
)
def test_bad_addresses_are_named(given: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """A bad part of the address is named ``address.<part>``, in French."""
    raw = {**ATTESTED, "address": {**ADDRESS, **given}}
    assert errors_of(ORGANISATION_ADDRESS, raw) == {f"address.{k}": v for k, v in errors.items()}


def test_address_requires_street_city_and_postal_code() -> None:
    """An empty address names its required parts."""
    assert errors_of(ORGANISATION_ADDRESS, {**ATTESTED, "address": {}}) == {
        "address.street": [messages.REQUIRED],
        "address.city": [messages.REQUIRED],
        "address.postal_code": [messages.REQUIRED],
    }


# --------------------------------------------------------------------------- organisation


def test_organisation_information_is_updated() -> None:
    """*Modifier les informations d'une organisation*: name, language, email, phone."""
    raw = {
        **ATTESTED,
        "name": "LAFORCE COMPTABLE S.E.N.C.",
        "language": "en",
        "email": "info@laforce.example",
        "phone": {"number": "418 555-0100", "extension": "22"},
    }
    assert build(ORGANISATION, raw) == [
        UpdateOrganisation(
            FIRM,
            {
                "name": "LAFORCE COMPTABLE S.E.N.C.",
                "language": "en",
                "email": "info@laforce.example",
                "phone": "+1 418 555-0100 poste 22",
            },
        )
    ]


def test_organisation_form_needs_one_change() -> None:
    """Only the attestation: nothing to change."""
    assert errors_of(ORGANISATION, ATTESTED) == {"_schema": [messages.NOTHING_TO_CHANGE]}


def test_organisation_current_name_changes_nothing() -> None:
    """The current name alone changes nothing."""
    raw = {**ATTESTED, "name": "LAFORCE COMPTABLE INC"}
    assert changeset_errors(ORGANISATION, raw) == {"_schema": [messages.NOTHING_TO_CHANGE]}


def test_organisation_email_format_is_checked() -> None:
    """The organisation's email must be an email address."""
    assert errors_of(ORGANISATION, {**ATTESTED, "email": "info@"}) == {
        "email": ["Adresse courriel invalide."]
    }


# --------------------------------------------------------------------------- the profile view


def test_firm_grants_on_a_client_keep_the_highest_right() -> None:
    """``firm_grants_on`` gives the firm's own right on each subject of a client."""
    held = VIEW.firm_grants_on(SHAW)
    assert {code: g.right for code, g in held.items()} == {
        "rapport_mensuel": "write",
        "main_oeuvre": "write",
        "releves": "read",
    }


def test_grants_through_firm_leave_out_other_organisations_grants() -> None:
    """A contact's grants through the firm exclude those held through another relation."""
    assert {g.id for g in VIEW.grants_through_firm(MARIE_HELENE)} == {G_MH_SHAW, G_MH_OWN}
