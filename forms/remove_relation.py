"""*Retirer une relation ou des sujets autorisés à un contact* (catalogue Profil › Autorisations).

The guide (Étape 5): choose the *Contact dans ce profil*, then what to remove:

- *Toutes les relations*: every relation of the contact with the firm ends and every subject tied
  to them is revoked, the ones delegated on the firm's clients included; *Actif* becomes *Faux*
  (ended, kept as history, never deleted);
- *Une ou plusieurs relation(s)*: the chosen relations end, with the subjects tied to them. To
  remove the person's access to one client's dossier (the guide: *"Pour retirer l'autorisation de
  cette personne à un dossier client spécifique"*), choose that client among
  ``delegation_organisation_ids``: the subjects delegated on it are revoked;
- *Un ou plusieurs sujet(s) autorisé(s) associé(s) à une relation*: the chosen grants are revoked.

Rule the guide leaves implicit: a firm must keep someone in charge, so a request that would end
the last active *Responsable* relation of the firm is refused (add another responsable first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import messages
from .base import BuildOptions, ErrorCollector, Field, Submission
from .changeset import EndContactRelation, Operation, RevokeGrant
from .common import (
    ATTESTATION,
    CATEGORY_AUTORISATIONS,
    choices_of,
    contact_description,
    profile_form,
)
from .profile import GrantInfo, ProfileView, RelationInfo

SLUG = "remove-relation"

ALL_RELATIONS = "all_relations"
RELATIONS = "relations"
SUBJECTS = "subjects"

REMOVALS: Mapping[str, tuple[str, str]] = {
    ALL_RELATIONS: ("Toutes les relations", "All relations"),
    RELATIONS: ("Une ou plusieurs relation(s)", "One or more relation(s)"),
    SUBJECTS: (
        "Un ou plusieurs sujet(s) autorisé(s) associé(s) à une relation",
        "One or more authorized subject(s) tied to a relation",
    ),
}

NOTE_FR = (
    "Le retrait de toutes les relations entraîne aussi le retrait des sujets autorisés qui y sont "
    "reliés."
)
NOTE_EN = "Removing all relations also removes the authorized subjects tied to them."


def _chosen(
    variables: Mapping[str, Any], view: ProfileView, contact_id: int, errors: ErrorCollector
) -> tuple[list[RelationInfo], list[GrantInfo]]:
    """The relations to end and the grants to revoke."""
    removal = variables["removal"]
    relations = view.relations_of(contact_id)
    mine = {g.id: g for g in view.grants_through_firm(contact_id)}
    if removal == ALL_RELATIONS:
        if not relations:
            errors.add("contact_id", messages.NO_RELATION_LEFT)
        return list(relations), list(mine.values())

    ended: list[RelationInfo] = []
    revoked: list[GrantInfo] = []
    if removal == RELATIONS:
        own = {r.id: r for r in relations}
        for index, relation_id in enumerate(variables.get("relation_ids") or ()):
            relation = own.get(relation_id)
            if relation is None:
                errors.add(
                    f"relation_ids.{index}", messages.RELATION_NOT_OF_CONTACT.format(relation_id)
                )
                continue
            ended.append(relation)
            revoked.extend(view.grants_tied_to(relation_id))
        for index, org_id in enumerate(variables.get("delegation_organisation_ids") or ()):
            delegated = view.delegated_grants(contact_id, org_id)
            if not delegated:
                errors.add(
                    f"delegation_organisation_ids.{index}",
                    messages.NO_DELEGATION_ON.format(org_id),
                )
            revoked.extend(delegated)
    else:
        for index, grant_id in enumerate(variables.get("grant_ids") or ()):
            grant = mine.get(grant_id)
            if grant is None:
                errors.add(f"grant_ids.{index}", messages.GRANT_NOT_OF_CONTACT.format(grant_id))
            else:
                revoked.append(grant)
    return ended, revoked


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """Revoke the grants, then end the relations (the last responsable is kept)."""
    errors = ErrorCollector()
    contact_id = variables["contact_id"]
    if contact_id not in view.contacts:
        errors.add("contact_id", messages.CONTACT_NOT_IN_PROFILE)
        errors.raise_if_any()
    ended, revoked = _chosen(variables, view, contact_id, errors)

    ended_ids = {r.id for r in ended}
    responsables = view.responsable_relations()
    if responsables and all(r.id in ended_ids for r in responsables):
        field = "contact_id" if variables["removal"] == ALL_RELATIONS else "relation_ids"
        errors.add(field, messages.LAST_RESPONSABLE)
    errors.raise_if_any()

    operations: list[Operation] = []
    seen: set[int] = set()
    for grant in sorted(revoked, key=lambda g: g.id):
        if grant.id not in seen:
            seen.add(grant.id)
            operations.append(RevokeGrant(grant_id=grant.id))
    today = options.date()
    for relation in sorted(ended, key=lambda r: r.id):
        # A relation planned to end before today keeps its earlier date.
        operations.append(
            EndContactRelation(relation_id=relation.id, end_date=min(today, relation.end_date))
        )
    return operations


_RELATIONS_SHOWN = {"field": "removal", "equals": RELATIONS}


def rules(submitted: Submission, errors: ErrorCollector) -> None:
    """*Une ou plusieurs relation(s)* names at least one relation or one client's file."""
    chosen = ("relation_ids", "delegation_organisation_ids")
    if submitted.met(_RELATIONS_SHOWN) and not any(submitted.given(n) for n in chosen):
        errors.add("relation_ids", messages.CHOOSE_AT_LEAST_ONE)


FIELDS = (
    contact_description(),
    Field(
        "removal",
        "choice",
        "Quel(s) sujet(s) autorisé(s) ou relation(s) désirez-vous retirer?",
        "Which authorized subject(s) or relation(s) do you want to remove?",
        required=True,
        choices=choices_of(REMOVALS),
        help_fr=NOTE_FR,
        help_en=NOTE_EN,
    ),
    Field(
        "relation_ids",
        "relation",
        "Relation(s) à retirer",
        "Relation(s) to remove",
        many=True,
        default=(),
        choices_source="contact.relations",
        choices_depend_on="contact_id",
        shown_when=_RELATIONS_SHOWN,
        help_fr="Les sujets autorisés reliés à une relation retirée sont aussi retirés.",
        help_en="The authorized subjects tied to a removed relation are removed too.",
    ),
    Field(
        "delegation_organisation_ids",
        "organisation",
        "Dossier(s) client(s) dont retirer l'accès délégué",
        "Client file(s) to remove the delegated access from",
        many=True,
        default=(),
        choices_source="contact.delegated_organisations",
        choices_depend_on="contact_id",
        shown_when=_RELATIONS_SHOWN,
        help_fr=(
            "Pour retirer l'autorisation de cette personne à un dossier client spécifique : "
            "les sujets autorisés qui lui sont délégués sur ce dossier sont retirés."
        ),
        help_en=(
            "To remove this person's access to one client's file: the authorized subjects "
            "delegated to them on that file are removed."
        ),
    ),
    Field(
        "grant_ids",
        "grant",
        "Sujet(s) autorisé(s) à retirer",
        "Authorized subject(s) to remove",
        required=True,
        many=True,
        default=(),
        choices_source="contact.grants",
        choices_depend_on="contact_id",
        shown_when={"field": "removal", "equals": SUBJECTS},
    ),
)

FORM = profile_form(
    SLUG,
    CATEGORY_AUTORISATIONS,
    title=(
        "Retirer une relation ou des sujets autorisés à un contact",
        "Remove a relation or authorized subjects from a contact",
    ),
    description=(
        "Ce formulaire permet de retirer une ou plusieurs relations associées à un contact de "
        "l'organisation ainsi que des sujets autorisés.",
        "This form removes one or more relations of a contact of the organisation, and "
        "authorized subjects.",
    ),
    notes=(
        (
            "Seules les personnes possédant les autorisations requises (personnes responsables, "
            "administratrices, dirigeantes, etc.) peuvent retirer une relation ou des sujets "
            "autorisés à un contact de l'organisation.",
            "Only persons with the required authority (persons in charge, administrators, "
            "officers, etc.) can remove a relation or authorized subjects from a contact of the "
            "organisation.",
        ),
        (NOTE_FR, NOTE_EN),
        (
            "Votre organisation doit conserver au moins un responsable.",
            "Your organisation must keep at least one person in charge.",
        ),
    ),
    fields=FIELDS,
    attestations=(ATTESTATION,),
    rules=rules,
    popular=True,
    build=build,
)
