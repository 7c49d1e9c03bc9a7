"""*Envoyer les coordonnées de liaison aux membres*: the guide's step 6 ("Répétez ces étapes pour
chacun des membres") done once for many members.

One request names the selected members; its changeset holds one ``IssueLinkingCredentials`` per
member, so the apply sends each one fresh credentials (voiding the previous ones) exactly as the
single-member reissue of *Modifier les informations…* does, once per ``(request, operation)``:
a redelivered apply sends nobody a second code. Each member must be an active contact of the
profile with an email address; any other is named in a 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import messages
from .base import BuildOptions, ErrorCollector, Field, Submission
from .changeset import IssueLinkingCredentials, Operation
from .common import CATEGORY_AUTORISATIONS, profile_form
from .profile import ProfileView

SLUG = "send-linking-credentials"
# The members checked at first: every active member with an email no account is linked to yet.
UNLINKED_MEMBERS = "profile.unlinked_members"
MAX_MEMBERS = 500

NOT_A_MEMBER = (
    "Le contact n° {0} n'est pas un membre actif de votre organisation : les coordonnées de "
    "liaison ne lui sont pas envoyées."
)
NO_EMAIL = (
    "{0} n'a pas d'adresse courriel : les coordonnées de liaison ne peuvent lui être envoyées."
)
TOO_MANY = f"Choisissez au plus {MAX_MEMBERS} membres par demande."
TWICE = "Chaque membre n'est choisi qu'une fois."

MEMBERS_FIELD = Field(
    "contact_ids",
    "contact",
    "Membres à qui envoyer les coordonnées de liaison",
    "Members to send the linking credentials to",
    required=True,
    many=True,
    choices_source="profile.contacts",
    default_source=UNLINKED_MEMBERS,
    help_fr=(
        "Par défaut, chaque membre actif dont aucun compte n'est encore lié. Chacun reçoit "
        "par courriel un nouveau code de liaison; le précédent n'est plus valide."
    ),
    help_en=(
        "By default, every active member no account is linked to yet. Each receives a new "
        "linking code by email; the previous one stops working."
    ),
)


def rules(submitted: Submission, errors: ErrorCollector) -> None:
    """At least one member, at most :data:`MAX_MEMBERS`, each once."""
    chosen = submitted.original.get("contact_ids")
    if not isinstance(chosen, list):
        return  # the field's own check says what is wrong
    if not chosen:
        errors.add("contact_ids", messages.CHOOSE_AT_LEAST_ONE)
    elif len(chosen) > MAX_MEMBERS:
        errors.add("contact_ids", TOO_MANY)
    elif len({repr(c) for c in chosen}) != len(chosen):
        errors.add("contact_ids", TWICE)


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """One ``IssueLinkingCredentials`` per member chosen; every member who is not an active
    contact of the profile, or has no email, named under ``contact_ids.<position>``."""
    errors = ErrorCollector()
    operations: list[Operation] = []
    for position, contact_id in enumerate(variables["contact_ids"]):
        contact = view.contacts.get(contact_id)
        if contact is None:
            errors.add(f"contact_ids.{position}", NOT_A_MEMBER.format(contact_id))
        elif not contact.email:
            errors.add(f"contact_ids.{position}", NO_EMAIL.format(contact.full_name))
        else:
            operations.append(
                IssueLinkingCredentials(contact=contact.id, organisation_id=view.organisation.id)
            )
    errors.raise_if_any()
    return operations


FORM = profile_form(
    SLUG,
    CATEGORY_AUTORISATIONS,
    title=(
        "Envoyer les coordonnées de liaison aux membres",
        "Send the linking credentials to members",
    ),
    description=(
        "Ce formulaire envoie en une seule demande, à chaque membre choisi, un nouveau code de "
        "liaison par courriel, pour qu'il lie son compte au profil de l'organisation.",
        "This form sends, in one request, a new linking code by email to each member chosen, "
        "so that they link their account to the organisation's profile.",
    ),
    notes=(
        (
            "Chaque membre reçoit un seul courriel; le code de liaison qu'il avait reçu avant "
            "n'est plus valide.",
            "Each member receives one email; the linking code they had before stops working.",
        ),
        (
            "Assurez-vous que l'adresse courriel de chaque membre est valide.",
            "Make sure each member's email address is valid.",
        ),
    ),
    fields=(MEMBERS_FIELD,),
    rules=rules,
    popular=False,
    build=build,
    view_parts=frozenset({"contacts"}),
)
