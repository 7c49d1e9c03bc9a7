"""Issue 18, item 5: what each authorized subject allows, in French and English, from the API."""

from __future__ import annotations

import pytest

from catalogue_svc.profiles.service import SUBJECTS
from forms.subject_descriptions import SUBJECT_DESCRIPTIONS
from tests.accounts_helpers import anonymous_client


def test_every_subject_of_the_catalogue_has_a_description_in_both_languages():
    """No subject without its sentence, in French and in English."""
    assert set(SUBJECT_DESCRIPTIONS) == {spec.code for spec in SUBJECTS}
    for french, english in SUBJECT_DESCRIPTIONS.values():
        assert french.endswith(".") and english.endswith(".") and french != english


@pytest.mark.parametrize(
    ("lang", "name", "start"),
    [("fr", "Rapport mensuel", "Produire"), ("en", "Monthly report", "Prepare")],
)
def test_the_api_serves_each_subject_with_what_it_allows(responsable, lang, name, start):
    """Each subject in the catalogue's order: name, group, description, delegation, in ``lang``."""
    answer = responsable.get(f"/api/subjects?lang={lang}")
    assert answer.status_code == 200
    subjects = answer.json["subjects"]
    assert [s["code"] for s in subjects] == [spec.code for spec in SUBJECTS]
    [report] = [s for s in subjects if s["code"] == "rapport_mensuel"]
    assert report["name"] == name and report["description"].startswith(start)
    assert report["available_in_delegation"] is True


def test_the_three_phase_1_services_say_they_are_not_delegated(responsable):
    """Gestion de main-d'œuvre, identification de chantier, lettre d'état: not delegated."""
    subjects = responsable.get("/api/subjects").json["subjects"]
    phase_1 = {s["code"] for s in subjects if not s["available_in_delegation"]}
    assert phase_1 == {"gestion_main_oeuvre", "identification_chantier", "lettre_etat_situation"}
    for subject in subjects:
        if subject["code"] in phase_1:
            assert "Mes dossiers autorisés" in subject["description"]


def test_subjects_need_a_session_and_a_known_language(app, responsable):
    """Anonymous: 401; ``lang=xx``: 422 naming ``lang``."""
    assert anonymous_client(app).get("/api/subjects").status_code == 401
    answer = responsable.get("/api/subjects?lang=xx")
    assert answer.status_code == 422 and list(answer.json["errors"]) == ["lang"]
