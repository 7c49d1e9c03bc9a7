"""``GET /problems/<slug>``: the page each problem's ``type`` points to (RFC 9457), so that a
client developer who follows the URL reads what the problem means and what to do."""

from __future__ import annotations

from html import escape

from flask import Flask, Response

from .errors import DETAILS, SLUGS, TITLES, DomainError

# What the problems that no HTTP status names on its own mean (the DomainError subclasses').
MEANINGS = {
    "invalid-code": "Le code à usage unique est erroné, expiré ou déjà utilisé. "
    "Demandez-en un nouveau.",
    "linking-refused": "Les coordonnées de liaison sont refusées : vérifiez le numéro de dossier "
    "et le code reçus, ou demandez-en de nouveaux.",
    "sign-up-elsewhere": "L'inscription a été confirmée depuis un autre navigateur : "
    "connectez-vous avec votre adresse et votre mot de passe.",
    "wrong-password": "Le mot de passe actuel saisi pour confirmer la modification est erroné.",
}


def known() -> dict[str, int]:
    """Every problem type the service answers with, and its HTTP status."""
    types = {slug: status for status, slug in SLUGS.items()}
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        types.setdefault(cls.slug, cls.status)
    return types


def page(slug: str) -> Response:
    """The page of one problem type; a plain 404 for an unknown one."""
    status = known().get(slug)
    if status is None:
        return Response("Type de problème inconnu.", status=404, mimetype="text/plain")
    title = TITLES.get(status, "Erreur")
    meaning = MEANINGS.get(slug) or DETAILS.get(status, "")
    retry = (
        "<p>L'en-tête <code>Retry-After</code> donne le nombre de secondes à attendre.</p>"
        if status == 429
        else ""
    )
    body = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{escape(title)} ({escape(slug)})</title></head><body>"
        f"<h1>{escape(title)}</h1><p>Type : <code>/problems/{escape(slug)}</code>, "
        f"statut HTTP {status}.</p><p>{escape(meaning)}</p>{retry}"
        "<p>Le corps de la réponse (application/problem+json) précise le problème dans "
        "<code>detail</code> et, champ par champ, dans <code>errors</code>.</p></body></html>"
    )
    return Response(body, mimetype="text/html")


def init_app(app: Flask) -> None:
    """Serve ``/problems/<slug>``."""
    app.add_url_rule("/problems/<slug>", "problem_type", page, methods=["GET"])
