"""The lifecycle of a catalogue request: which state changes are legal, for whom, and why not.

This module only *decides*. The database layer persists each accepted move as a compare-and-set
(``UPDATE requests SET state=:to WHERE id=:id AND state=:from``) in the same transaction as its
effect; the database row, not this machine, is the truth (see RELIABILITY.md, item 1).

One ``transitions.Machine`` is shared by the whole process (PERFORMANCE.md, item 7). Each call
attaches a throw-away model, fires one trigger and detaches it, under a lock, so that no model
stays attached and concurrent calls never see each other's model. Nothing shared is mutated by
a call, so a refused or failed call leaves nothing to roll back (``transitions`` would not).
"""

from __future__ import annotations

import enum
import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from transitions import Machine, MachineError

__all__ = [
    "AWAITING_AGENT",
    "AWAITING_CHECK",
    "AWAITING_SYSTEM",
    "CANCELLABLE_STATES",
    "DECIDED_STATES",
    "EVENT_LABELS_FR",
    "FINAL_STATES",
    "GUARD_MESSAGES",
    "LABELS_EN",
    "LABELS_FR",
    "PENDING_STATES",
    "TRANSITIONS",
    "UNDECIDED_STATES",
    "Actor",
    "Context",
    "IllegalTransition",
    "State",
    "TransitionRow",
    "Trigger",
    "allowed_triggers",
    "event_label",
    "is_final",
    "label",
    "next_state",
]


class State(enum.StrEnum):
    """The states of a request; the value is what the database stores."""

    SUBMITTED = "submitted"
    DUPLICATE_CHECK = "duplicate_check"
    AGENT_VALIDATION = "agent_validation"
    APPROVED = "approved"
    APPLIED = "applied"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


# FAILED is deliberately not final: an agent may retry a failed apply.
FINAL_STATES: frozenset[State] = frozenset({State.APPLIED, State.REJECTED, State.CANCELLED})

LABELS_FR: Mapping[State, str] = MappingProxyType(
    {
        State.SUBMITTED: "Soumise",
        State.DUPLICATE_CHECK: "Vérification des doublons",
        State.AGENT_VALIDATION: "Validation par un agent",
        State.APPROVED: "Approuvée",
        State.APPLIED: "Appliquée",
        State.REJECTED: "Refusée",
        State.CANCELLED: "Annulée",
        State.FAILED: "En erreur",
    }
)

LABELS_EN: Mapping[State, str] = MappingProxyType(
    {
        State.SUBMITTED: "Submitted",
        State.DUPLICATE_CHECK: "Duplicate check",
        State.AGENT_VALIDATION: "Agent validation",
        State.APPROVED: "Approved",
        State.APPLIED: "Applied",
        State.REJECTED: "Rejected",
        State.CANCELLED: "Cancelled",
        State.FAILED: "Failed",
    }
)

_LABELS: dict[str, Mapping[State, str]] = {"fr": LABELS_FR, "en": LABELS_EN}


class Trigger(enum.StrEnum):
    """The events that move a request; the value is the trigger name."""

    START_CHECK = "start_check"
    REQUIRE_VALIDATION = "require_validation"
    PASS_CHECK = "pass_check"  # noqa: S105 - a trigger name, not a secret
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    APPLY = "apply"
    FAIL = "fail"
    RETRY = "retry"


class Actor(enum.StrEnum):
    """Who may fire a trigger; compared with ``Context.actor_kind``."""

    SYSTEM = "system"
    AGENT = "agent"
    SUBMITTER = "submitter"


class TransitionRow(NamedTuple):
    """One row of the transition table."""

    trigger: Trigger
    source: tuple[State, ...]
    dest: State
    actor: Actor
    # Guards besides the actor check (which every row gets: ``actor_is_<actor>``).
    guards: tuple[str, ...] = ()

    @property
    def conditions(self) -> tuple[str, ...]:
        """All guard names of the row, the actor check first."""
        return (f"actor_is_{self.actor.value}", *self.guards)


# The whole lifecycle. Nothing else may move a request.
TRANSITIONS: tuple[TransitionRow, ...] = (
    TransitionRow(Trigger.START_CHECK, (State.SUBMITTED,), State.DUPLICATE_CHECK, Actor.SYSTEM),
    TransitionRow(
        Trigger.REQUIRE_VALIDATION, (State.DUPLICATE_CHECK,), State.AGENT_VALIDATION, Actor.SYSTEM
    ),
    TransitionRow(
        Trigger.PASS_CHECK,
        (State.DUPLICATE_CHECK,),
        State.APPROVED,
        Actor.SYSTEM,
        ("validation_not_required",),
    ),
    TransitionRow(Trigger.APPROVE, (State.AGENT_VALIDATION,), State.APPROVED, Actor.AGENT),
    TransitionRow(
        Trigger.REJECT, (State.AGENT_VALIDATION,), State.REJECTED, Actor.AGENT, ("has_reason",)
    ),
    TransitionRow(
        Trigger.CANCEL,
        (State.SUBMITTED, State.DUPLICATE_CHECK, State.AGENT_VALIDATION),
        State.CANCELLED,
        Actor.SUBMITTER,
    ),
    TransitionRow(Trigger.APPLY, (State.APPROVED,), State.APPLIED, Actor.SYSTEM),
    TransitionRow(Trigger.FAIL, (State.APPROVED,), State.FAILED, Actor.SYSTEM, ("has_reason",)),
    TransitionRow(Trigger.RETRY, (State.FAILED,), State.APPROVED, Actor.AGENT),
)

# The groups of states the service and the portal ask about, derived from the table above (never
# restated elsewhere), each in the lifecycle's order.


def _sources(keep: Callable[[TransitionRow], bool]) -> tuple[State, ...]:
    """The states that a row kept by ``keep`` leaves from, in the lifecycle's order."""
    return tuple(s for s in State if any(keep(row) and s in row.source for row in TRANSITIONS))


# Where the submitter may still cancel: the sources of the ``cancel`` row.
CANCELLABLE_STATES: tuple[State, ...] = _sources(lambda row: row.trigger is Trigger.CANCEL)
# Not decided yet (neither approved nor refused, nor cancelled): exactly where the submitter may
# still cancel, since cancelling is allowed until the decision. Documents are joined only then.
UNDECIDED_STATES: tuple[State, ...] = CANCELLABLE_STATES
# Where the duplicate check owes the next move: it starts from ``submitted`` and decides from
# ``duplicate_check`` (a redelivered check finds the request in either).
_CHECK_TRIGGERS = (Trigger.START_CHECK, Trigger.PASS_CHECK, Trigger.REQUIRE_VALIDATION)
AWAITING_CHECK: tuple[State, ...] = _sources(lambda row: row.trigger in _CHECK_TRIGGERS)
# Decided by an agent or the check: approved, then applied or failed, or refused (not cancelled).
DECIDED_STATES: tuple[State, ...] = tuple(
    s for s in State if s not in UNDECIDED_STATES and s is not State.CANCELLED
)
# Where the next move is the system's (a background step owes it) or an agent's (the queue).
AWAITING_SYSTEM: tuple[State, ...] = _sources(lambda row: row.actor is Actor.SYSTEM)
AWAITING_AGENT: tuple[State, ...] = _sources(lambda row: row.actor is Actor.AGENT)
# On its way to being applied, so what it asks may still happen (conflicting requests, a
# contact's requests in progress): neither final nor failed (a failed request waits for an
# agent's retry).
PENDING_STATES: tuple[State, ...] = tuple(
    s for s in State if s not in FINAL_STATES and s is not State.FAILED
)

# What each trigger does, to finish the sentences of GUARD_MESSAGES.
_ACTIONS_FR: dict[Trigger, str] = {
    Trigger.START_CHECK: "lancer la vérification des doublons d'une demande",
    Trigger.REQUIRE_VALIDATION: "soumettre une demande à la validation par un agent",
    Trigger.PASS_CHECK: "approuver une demande à l'issue de la vérification des doublons",
    Trigger.APPROVE: "approuver une demande",
    Trigger.REJECT: "refuser une demande",
    Trigger.CANCEL: "annuler sa demande",
    Trigger.APPLY: "appliquer une demande",
    Trigger.FAIL: "mettre une demande en erreur",
    Trigger.RETRY: "relancer une demande en erreur",
}

# French reason given when a guard refuses; ``{action}`` comes from _ACTIONS_FR.
GUARD_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "actor_is_system": "Seul le système peut {action}.",
        "actor_is_agent": "Seul un agent peut {action}.",
        "actor_is_submitter": "Seul le demandeur peut {action}.",
        "has_reason": "Un motif est requis.",
        "validation_not_required": (
            "Une demande ne peut être approuvée sans validation par un agent que si la "
            "vérification des doublons l'a jugée inutile."
        ),
    }
)


@dataclass(frozen=True)
class Context:
    """Who fires a trigger, and the facts its guards look at."""

    actor_kind: str  # "system" | "agent" | "submitter"
    reason: str | None = None
    needs_validation: bool | None = None


class IllegalTransition(Exception):
    """A trigger that may not fire: unknown, not allowed from the state, or refused by a guard."""

    def __init__(
        self,
        state: str,
        trigger: str | None,
        allowed: list[str],
        reason: str,
        failed_guards: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.state = state
        self.trigger = trigger
        self.allowed = allowed
        self.reason = reason
        # Empty unless the transition exists and a guard refused it.
        self.failed_guards = failed_guards


class _Subject:
    """A throw-away model: the state and context of one call, and the named guards."""

    # Set by the machine while attached; declared for the type checker only.
    state: State
    trigger: Callable[[str], bool]

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def actor_is_system(self) -> bool:
        """The trigger is fired by a background step of the service."""
        return self.ctx.actor_kind == Actor.SYSTEM.value

    def actor_is_agent(self) -> bool:
        """The trigger is fired by an agent."""
        return self.ctx.actor_kind == Actor.AGENT.value

    def actor_is_submitter(self) -> bool:
        """The trigger is fired by the person who submitted the request."""
        return self.ctx.actor_kind == Actor.SUBMITTER.value

    def has_reason(self) -> bool:
        """A non-blank reason is given."""
        return self.ctx.reason is not None and self.ctx.reason.strip() != ""

    def validation_not_required(self) -> bool:
        """The duplicate check explicitly found that no agent validation is needed."""
        # ``is False``: an unknown answer (None) must not skip the agent.
        return self.ctx.needs_validation is False


_ROWS: dict[tuple[State, Trigger], TransitionRow] = {
    (source, row.trigger): row for row in TRANSITIONS for source in row.source
}
_ALLOWED: dict[State, list[str]] = {
    state: sorted(row.trigger.value for row in TRANSITIONS if state in row.source)
    for state in State
}

_MACHINE = Machine(
    model=None,
    states=State,
    initial=None,
    transitions=[
        {
            "trigger": row.trigger.value,
            "source": list(row.source),
            "dest": row.dest,
            "conditions": list(row.conditions),
        }
        for row in TRANSITIONS
    ],
    auto_transitions=False,
)
# add_model/remove_model touch the machine's model list: one call at a time.
_LOCK = threading.Lock()


def _parse_state(state: State | str) -> State:
    if isinstance(state, State):
        return state
    try:
        return State(state)
    except ValueError:
        raise IllegalTransition(str(state), None, [], f"L'état « {state} » n'existe pas.") from None


def _parse_trigger(state: State, trigger: Trigger | str) -> Trigger:
    if isinstance(trigger, Trigger):
        return trigger
    try:
        return Trigger(trigger)
    except ValueError:
        raise IllegalTransition(
            state.value,
            str(trigger),
            list(_ALLOWED[state]),
            f"La transition « {trigger} » n'existe pas. {_allowed_sentence(state)}",
        ) from None


def _allowed_sentence(state: State) -> str:
    allowed = _ALLOWED[state]
    return f"Transitions permises : {', '.join(allowed) if allowed else 'aucune'}."


def _not_permitted(state: State, trigger: Trigger) -> IllegalTransition:
    return IllegalTransition(
        state.value,
        trigger.value,
        list(_ALLOWED[state]),
        f"La transition « {trigger.value} » n'est pas permise depuis l'état "
        f"« {LABELS_FR[state]} ». {_allowed_sentence(state)}",
    )


def next_state(state: State | str, trigger: Trigger | str, ctx: Context) -> State:
    """Return the state ``trigger`` leads to from ``state``, or raise ``IllegalTransition``."""
    current = _parse_state(state)
    return _fire(current, _parse_trigger(current, trigger), ctx)


# The guards are pure: the same state, trigger and context always give the same answer, and a
# pipeline fires the same few moves all day (a refusal raises, and is never cached).
@functools.lru_cache(maxsize=512)
def _fire(current: State, event: Trigger, ctx: Context) -> State:
    subject = _Subject(ctx)
    with _LOCK:
        _MACHINE.add_model(subject, initial=current)
        try:
            fired = subject.trigger(event.value)
        except MachineError:
            raise _not_permitted(current, event) from None
        finally:
            _MACHINE.remove_model(subject)
    if fired:
        return State(subject.state)
    # The guards are pure, so asking them again tells which ones refused.
    failed = tuple(g for g in _ROWS[current, event].conditions if not getattr(subject, g)())
    action = _ACTIONS_FR[event]
    reason = " ".join(GUARD_MESSAGES[g].format(action=action) for g in failed)
    raise IllegalTransition(
        current.value,
        event.value,
        list(_ALLOWED[current]),
        reason or f"La transition « {event.value} » a été refusée.",
        failed,
    )


def allowed_triggers(state: State | str) -> list[str]:
    """Triggers whose source includes ``state``, sorted, whatever their guards would say."""
    return list(_ALLOWED[_parse_state(state)])


def is_final(state: State | str) -> bool:
    """Whether nothing may happen to a request in ``state`` any more."""
    return _parse_state(state) in FINAL_STATES


def label(state: State | str, lang: str = "fr") -> str:
    """The display label of ``state`` in ``lang`` ("fr" or "en")."""
    try:
        labels = _LABELS[lang]
    except KeyError:
        raise ValueError(f"unsupported language: {lang!r}") from None
    return labels[_parse_state(state)]


# What each row of a request's history says happened (*Suivi*): every trigger of the table,
# and the events that move no state (an agent's claim, the service-level clock).
EVENT_LABELS_FR: Mapping[str, str] = MappingProxyType(
    {
        "submit": "Soumission",
        Trigger.START_CHECK.value: "Vérification des doublons",
        Trigger.REQUIRE_VALIDATION.value: "Envoi à la validation par un agent",
        Trigger.PASS_CHECK.value: "Aucune validation requise",
        Trigger.APPROVE.value: "Approbation",
        Trigger.REJECT.value: "Refus",
        Trigger.CANCEL.value: "Annulation",
        Trigger.APPLY.value: "Application des changements",
        Trigger.FAIL.value: "Erreur d'application",
        Trigger.RETRY.value: "Relance",
        "claim": "Prise en charge par un agent",
        "release": "Remise dans la file",
        "reassign": "Confiée à un autre agent",
        "clock_start": "Début du délai de traitement",
        "clock_pause": "Délai suspendu (en attente de votre réponse)",
        "clock_resume": "Délai repris",
        "clock_stop": "Fin du délai de traitement",
    }
)


def event_label(trigger: str) -> str:
    """The French words of a history row's event (a generic one for an unknown event)."""
    return EVENT_LABELS_FR.get(trigger, "Événement")
