"""``/healthz``, ``/readyz`` and the embedded mode's ``/dev/mail``."""

from __future__ import annotations

import html

from flask import Blueprint, current_app
from marshmallow import Schema, fields
from sqlalchemy import select, text

from ..db import db
from ..errors import problem
from ..extensions import Blueprint as ApiBlueprint
from ..notifications.models import Email

blp = ApiBlueprint("ops", __name__, description="Exploitation")
dev_blp = Blueprint("dev", __name__)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok"})


class ReadySchema(HealthSchema):
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "database, queue : ok"},
    )


@blp.route("/healthz")
@blp.doc(security=[])
@blp.answers(200, HealthSchema)
def healthz() -> dict[str, str]:
    """Le processus répond."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.answers(200, ReadySchema)
@blp.alt_response(503, description="Une dépendance est indisponible (voir checks).")
def readyz() -> object:
    """La base de données et la file sont joignables."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001
        db.session.rollback()
        checks["database"] = "indisponible"
    transport = current_app.extensions["catalogue_transport"]
    checks["queue"] = "ok" if transport.ping() else "indisponible"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    return problem(503, "Une dépendance du service est indisponible.", checks=checks)


@dev_blp.route("/dev/mail")
def dev_mail() -> str:
    """The embedded mode's mailbox: every email the service sent, newest first."""
    emails = db.session.scalars(select(Email).order_by(Email.id.desc()).limit(200)).all()
    rows = []
    for email in emails:
        rows.append(
            "<article><h2>{subject}</h2><p><b>À :</b> {to} — <b>{state}</b> — {at}</p>"
            "<pre>{body}</pre></article>".format(
                subject=html.escape(email.subject),
                to=html.escape(email.to_address),
                state="envoyé" if email.sent_at else "en attente",
                at=email.created_at.isoformat(timespec="seconds"),
                body=html.escape(email.body),
            )
        )
    return (
        "<!doctype html><html lang=fr><meta charset=utf-8><title>Boîte de courriels (démo)</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:auto}pre{white-space:pre-wrap;"
        "background:#f4f4f4;padding:1em}</style><h1>Boîte de courriels du mode embarqué</h1>"
        + ("".join(rows) or "<p>Aucun courriel.</p>")
    )
