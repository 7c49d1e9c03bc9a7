"""Demo data: the guide's firm, its clients and members, loaded through the dossiers import."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import current_app

from .db import db
from .imports.service import import_document

log = logging.getLogger(__name__)

DOSSIERS = Path(__file__).parent / "demo" / "dossiers.json"

DEMO_AGENT = {
    "email": "agent@demo.example",
    "password": "Boreal-Validation-2026!",
    "first_name": "Alex",
    "last_name": "Agent",
}


def _create_demo_agent() -> None:
    """Create the demo agent once (a second load finds it and does nothing)."""
    from .accounts.service import find_by_email
    from .agents.service import create_agent

    if find_by_email(DEMO_AGENT["email"]) is None:
        create_agent(**DEMO_AGENT)
        db.session.commit()


def load_demo() -> str:
    """Load the demo data (idempotent) and say, in French, how to start."""
    document: dict[str, Any] = json.loads(DOSSIERS.read_text(encoding="utf-8"))
    counts = import_document(document, source="demo")
    _create_demo_agent()
    settings = current_app.config["CATALOGUE_SETTINGS"]
    base = settings.base_url.rstrip("/")
    created = sum(c["created"] + c["updated"] for c in counts.values())
    firm = next(o for o in document["organisations"] if o["kind"] == "accounting_firm")
    responsable = next(c for c in document["contacts"] if c.get("send_linking_credentials"))
    legacy = document["legacy_credentials"][0]
    holder = next(c for c in document["contacts"] if c["ref"] == legacy["contact"])
    employer = next(
        o for o in document["organisations"] if o["client_number"] == legacy["organisation"]
    )
    mailbox = (
        f"{base}/dev/mail"
        if settings.embedded and not settings.smtp_host
        else "la boîte de réception (serveur SMTP configuré)"
    )
    lines = [
        "Données de démonstration "
        + ("chargées." if created else "déjà présentes : rien n'a changé."),
        f"  Firme : {firm['name']} (numéro de client {firm['client_number']}), ses clients "
        + " et ".join(o["name"] for o in document["organisations"] if o["kind"] == "employer")
        + ".",
        "",
        f"Le service est à {base}",
        "Les courriels partent dès que le service tourne (make run) et se lisent à "
        f"{mailbox} : le courriel explicatif de {responsable['first_name']} "
        f"{responsable['last_name']} (responsable) y contient ses coordonnées de liaison.",
        "",
        "Pour commencer comme nouvel utilisateur (le parcours du guide) :",
        f"  1. Ouvrez {base} et cliquez sur « Créer un compte » avec l'adresse "
        f"{responsable['email']} et un mot de passe de votre choix.",
        f"  2. Validez le code à usage unique reçu par courriel ({mailbox}).",
        "  3. « Utiliser des coordonnées de liaison » › « Commencer » : entrez l'identifiant et "
        "le code du courriel explicatif, puis « Lier ».",
        "  4. « Mon organisation » › « Relations et autorisations » : contacts, relations et "
        "autorisations de la firme.",
        "",
        f"Anciens identifiants (dossier de contact de {holder['first_name']} {holder['last_name']}"
        f" chez {employer['name']}) : {legacy['username']} / {legacy['password']}",
        f"Agent : {DEMO_AGENT['email']} / {DEMO_AGENT['password']} — « Se connecter » à "
        f"{base}/#/connexion, puis la « File de validation » ({base}/#/agent).",
    ]
    return "\n".join(lines)
