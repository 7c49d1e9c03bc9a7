"""The reader of people's texts (tests/people_text.py) tells internal keys from French."""

from __future__ import annotations

import json

import pytest

from tests.people_text import check_response, problems_in


@pytest.mark.parametrize(
    "text",
    [
        "La demande ne change rien au profil : indiquez au moins une modification.",
        "Écrivez à julie.le_vesque@laforce.example.",
        "Voir https://portail.example/aide_en_ligne.html",
        "« Prénom » (Informations personnelles du nouveau membre) : Ce champ est obligatoire.",
    ],
)
def test_french_for_people_passes(text):
    """Sentences, addresses and links are what people may read."""
    assert problems_in(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "_schema : La demande ne change rien au profil.",
        "variables.new_contact.first_name : Ce champ est obligatoire.",
        "L'application a échoué (IntegrityError).",
        "Missing data for required field.",
        "catalogue_svc.requests.service a échoué",
    ],
)
def test_internal_keys_are_caught(text):
    """A key, a field path, a class name or an English default is caught."""
    assert problems_in(text) != []


def test_a_problem_answer_is_read_whole():
    """Title, detail and error messages of a problem; ``_schema`` even as an errors key."""
    problem = {"title": "Données invalides", "detail": "x", "errors": {"_schema": ["Requis."]}}
    assert check_response(422, "application/problem+json", json.dumps(problem).encode())
    history = {"history": [{"reason": "variables.subjects.0 : Sujet inconnu."}]}
    assert check_response(200, "application/json", json.dumps(history).encode())
    assert check_response(200, "application/json", b'{"variables": {"a_b.c": 1}}') == []
