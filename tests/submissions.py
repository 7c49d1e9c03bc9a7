"""Form variables the tests submit, as plain data (no app needed): *Ajouter une relation* of a
new person as a Membre du personnel, and the numbered people of a batch."""

from __future__ import annotations

from typing import Any


def add_new_member(person: dict[str, Any]) -> dict[str, Any]:
    """*Ajouter une relation* for a new contact ``person`` (« Le contact n'existe pas »): a
    Membre du personnel with the monthly report, both attestations ticked."""
    return {
        "contact_does_not_exist": True,
        "new_contact": person,
        "relation_type": "membre_personnel",
        "subjects": ["rapport_mensuel"],
        "attestation": True,
        "attestation_consent": True,
    }


def numbered_person(i: int, **fields: Any) -> dict[str, Any]:
    """Person number ``i`` of a batch (Prénom{i} Nomfamille{i}, her own birth date and address,
    in French); ``fields`` replace or add some."""
    return {
        "first_name": f"Prénom{i}",
        "last_name": f"Nomfamille{i}",
        "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
        "email": f"membre{i}@laforce.example",
        "language": "fr",
        **fields,
    }


def new_member(i: int) -> dict[str, Any]:
    """*Ajouter une relation* for person number ``i`` of a batch (no agent needed)."""
    return add_new_member(numbered_person(i))
