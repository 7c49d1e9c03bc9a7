"""What each authorized subject allows: the guide's article *Quelles sont les autorisations de
chaque sujet autorisé?*, one sentence per subject in French and English, defined once here (the
API serves it; the portal shows it beside the subject).

The wording names the services each subject opens as the catalogue names them; it is a first
draft to be checked against the article itself, which the guide links but does not reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Said of the three services the guide's phase 1 does not open through *Mes dossiers autorisés*.
_PHASE_1_FR = (
    " En première phase, ce service n'est pas offert par « Mes dossiers autorisés » : "
    "l'employeur ajoute la personne comme contact de sa propre entreprise."
)
_PHASE_1_EN = (
    " In the first phase, this service is not offered through “My authorized files”: the "
    "employer adds the person as a contact of its own business."
)

SUBJECT_DESCRIPTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "main_oeuvre": (
            "Consulter et déclarer la main-d'œuvre de l'organisation.",
            "View and declare the organisation's workforce.",
        ),
        "gestion_main_oeuvre": (
            "Gérer la main-d'œuvre de l'organisation (embauches, départs, affectations)."
            + _PHASE_1_FR,
            "Manage the organisation's workforce (hiring, departures, assignments)." + _PHASE_1_EN,
        ),
        "identification_chantier": (
            "Déclarer et consulter l'identification des chantiers de l'organisation." + _PHASE_1_FR,
            "Declare and view the identification of the organisation's job sites." + _PHASE_1_EN,
        ),
        "lettre_etat_situation": (
            "Demander et consulter les lettres d'état de situation de l'organisation."
            + _PHASE_1_FR,
            "Request and view the organisation's status letters." + _PHASE_1_EN,
        ),
        "rapport_mensuel": (
            "Produire, transmettre et consulter le rapport mensuel de l'organisation.",
            "Prepare, file and view the organisation's monthly report.",
        ),
        "paiements": (
            "Effectuer et consulter les paiements de l'organisation.",
            "Make and view the organisation's payments.",
        ),
        "releves_remises": (
            "Consulter les relevés et les remises de l'organisation.",
            "View the organisation's statements and remittances.",
        ),
        "profil_organisation": (
            "Consulter le profil de l'organisation et demander sa modification.",
            "View the organisation's profile and request changes to it.",
        ),
        "coordonnees": (
            "Consulter les coordonnées de l'organisation et demander leur modification.",
            "View the organisation's contact information and request changes to it.",
        ),
    }
)


def description(code: str, lang: str) -> str | None:
    """What the subject ``code`` allows, in ``lang`` (``en`` or French), or None if unknown."""
    texts = SUBJECT_DESCRIPTIONS.get(code)
    if texts is None:
        return None
    return texts[1] if lang == "en" else texts[0]
