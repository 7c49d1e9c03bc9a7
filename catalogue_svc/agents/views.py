"""``/api/agent/…``: only accounts with the agent role."""

from __future__ import annotations

from typing import Any

from ..access import require_agent
from ..extensions import Blueprint
from ..requests.service import Actor
from . import service
from .schemas import ApproveSchema, QueueArgs, RejectSchema

blp = Blueprint("agents", __name__, url_prefix="/api/agent", description="Agents")


def _agent() -> Actor:
    account = require_agent()
    return Actor("agent", account.id, f"{account.first_name} {account.last_name}")


@blp.route("/queue")
@blp.arguments(QueueArgs, location="query")
def agent_queue(args: dict[str, Any]) -> Any:
    """La file de validation : les plus anciennes d'abord, avec leur âge."""
    _agent()
    return service.queue_page(
        form=args.get("form"),
        claimed=args.get("claimed"),
        page=args["page"],
        per_page=args["per_page"],
    )


@blp.route("/requests/<number>/claim", methods=["POST"])
def claim(number: str) -> Any:
    """Prendre une demande en charge (un seul agent à la fois)."""
    return service.claim(number, _agent())


@blp.route("/requests/<number>/release", methods=["POST"])
def release(number: str) -> Any:
    """Remettre une demande dans la file."""
    return service.release(number, _agent())


@blp.route("/requests/<number>/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
def approve(data: dict[str, Any], number: str) -> Any:
    """Approuver, éventuellement en utilisant un contact existant (fusion)."""
    return service.approve(number, _agent(), data.get("merge_with_contact_id"))


@blp.route("/requests/<number>/reject", methods=["POST"])
@blp.arguments(RejectSchema)
def reject(data: dict[str, Any], number: str) -> Any:
    """Refuser avec un motif que le demandeur verra."""
    return service.reject(number, _agent(), data["reason"])


@blp.route("/requests/<number>/retry", methods=["POST"])
def retry(number: str) -> Any:
    """Relancer l'application d'une demande en erreur."""
    return service.retry(number, _agent())
