"""``/api/agent/…``: only accounts with the agent role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..access import require_agent
from ..accounts.sessions import agent_required, guarded
from ..extensions import LOGGED_IN, READ, Blueprint
from ..requests.schemas import RequestDetailSchema, RequestSummarySchema
from ..requests.service import Actor
from ..routes import View, compose
from . import service
from .schemas import (
    AgentListSchema,
    AgentMeSchema,
    ApproveSchema,
    QueueArgs,
    QueuePageSchema,
    ReassignSchema,
    RejectSchema,
    StatsSchema,
)

F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint("agents", __name__, url_prefix="/api/agent", description="Agents")

AGENTS_ONLY = "Réservé aux agents."
NO_REQUEST = "Aucune demande de ce numéro."
SUPERVISORS_ONLY = "Réservé aux superviseurs."
NOT_NOW = "Pas dans un état qui le permet, ou prise en charge par un autre agent."


def supervisor_required(view: F) -> F:
    """Decorator under ``@agent_required``: 403 unless the agent supervises the queue, before
    the body is read (authorisation first, then validation)."""
    return guarded(view, lambda: service.require_supervisor(_agent()))


def _agent_read(rule: str, answer: Any, *, forbidden: str = AGENTS_ONLY) -> Callable[[View], View]:
    """``GET rule`` for agents: ``answer`` the 200, ``forbidden`` the 403."""
    return compose(
        blp.route(rule),
        agent_required,
        blp.doc(security=READ),
        blp.answers(200, answer),
        blp.alt_response(403, description=forbidden),
    )


def _on_request(
    action: str, *, body: Any = None, answer: Any = RequestSummarySchema, conflict: str = NOT_NOW
) -> Callable[[View], View]:
    """``POST /requests/<number>/<action>`` for agents: ``body`` read as JSON when given,
    ``answer`` the 200, 404 for an unknown number and ``conflict`` the 409."""
    arguments = [blp.arguments(body)] if body is not None else []
    return compose(
        blp.route(f"/requests/<number>/{action}", methods=["POST"]),
        agent_required,
        blp.doc(security=LOGGED_IN),
        *arguments,
        blp.answers(200, answer),
        blp.alt_response(403, description=AGENTS_ONLY),
        blp.alt_response(404, description=NO_REQUEST),
        blp.alt_response(409, description=conflict),
    )


def _agent() -> Actor:
    account = require_agent()
    return Actor("agent", account.id, f"{account.first_name} {account.last_name}")


@blp.route("/queue")
@agent_required
@blp.doc(security=READ)
@blp.arguments(QueueArgs, location="query")
@blp.answers(200, QueuePageSchema)
@blp.alt_response(403, description=AGENTS_ONLY)
@blp.alt_response(422, description="Un filtre invalide (le paramètre est nommé).")
def agent_queue(args: dict[str, Any]) -> Any:
    """La file de validation : en retard d'abord, puis par échéance (jours ouvrables du Québec);
    les demandes en erreur à la fin. Un filtre invalide : 422 qui nomme le paramètre."""
    agent = _agent()
    return service.queue_page(
        agent_id=agent.account_id or 0,
        form=args.get("form"),
        claimed=args.get("claimed"),
        state=args.get("state"),
        organisation=args.get("organisation"),
        q=args.get("q"),
        page=args["page"],
        per_page=args["per_page"],
    )


@_agent_read("/me", AgentMeSchema)
def agent_me() -> Any:
    """L'agent connecté : son nom, et s'il supervise la file (le portail lui montre alors qui a
    pris chaque demande, « Confier à… » et les indicateurs)."""
    return service.whoami(_agent())


@blp.route("/agents")
@agent_required
@supervisor_required
@blp.doc(security=READ)
@blp.answers(200, AgentListSchema)
@blp.alt_response(403, description=SUPERVISORS_ONLY)
def agent_list() -> Any:
    """Les agents à qui une demande peut être confiée (superviseurs), par nom."""
    return service.agents(_agent())


@_agent_read("/stats", StatsSchema, forbidden=SUPERVISORS_ONLY)
def agent_stats() -> Any:
    """Les chiffres de la file (superviseurs) : en cours, en retard, et par formulaire sur 30
    jours les reçues, décidées, décidées à temps et les heures ouvrables médianes."""
    return service.stats(_agent())


@_on_request("claim", answer=RequestDetailSchema)
def claim(number: str) -> Any:
    """Prendre une demande en charge (un seul agent à la fois)."""
    return service.claim(number=number, agent=_agent())


@blp.route("/requests/<number>/reassign", methods=["POST"])
@agent_required
@supervisor_required
@blp.doc(security=LOGGED_IN)
@blp.arguments(ReassignSchema)
@blp.answers(200, RequestSummarySchema)
@blp.alt_response(403, description=SUPERVISORS_ONLY)
@blp.alt_response(404, description=NO_REQUEST)
@blp.alt_response(409, description="La demande n'est pas en validation par un agent.")
@blp.alt_response(422, description="Le compte désigné n'est pas celui d'un agent.")
def reassign(data: dict[str, Any], number: str) -> Any:
    """Confier une demande à un autre agent (superviseurs), qu'elle soit prise en charge ou non."""
    return service.reassign(number=number, supervisor=_agent(), account_id=data["account_id"])


@_on_request("release", conflict="Pas en validation, ou pas prise en charge par cet agent.")
def release(number: str) -> Any:
    """Remettre une demande dans la file."""
    return service.release(number=number, agent=_agent())


@_on_request("approve", body=ApproveSchema)
def approve(data: dict[str, Any], number: str) -> Any:
    """Approuver, éventuellement en utilisant un contact existant (fusion)."""
    return service.approve(
        number=number,
        agent=_agent(),
        merge_with_contact_id=data.get("merge_with_contact_id"),
        create_new_contact=bool(data.get("create_new_contact")),
    )


@_on_request("reject", body=RejectSchema)
def reject(data: dict[str, Any], number: str) -> Any:
    """Refuser avec un motif que le demandeur verra."""
    return service.reject(number=number, agent=_agent(), reason=data["reason"])


@_on_request("retry", conflict="Seule une demande en erreur peut être relancée.")
def retry(number: str) -> Any:
    """Relancer l'application d'une demande en erreur."""
    return service.retry(number=number, agent=_agent())
