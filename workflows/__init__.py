"""Pure workflow rules of the service: no Flask, no database, no ``catalogue_svc``."""

from workflows.requests import (
    FINAL_STATES,
    GUARD_MESSAGES,
    LABELS_EN,
    LABELS_FR,
    TRANSITIONS,
    Actor,
    Context,
    IllegalTransition,
    State,
    TransitionRow,
    Trigger,
    allowed_triggers,
    is_final,
    label,
    next_state,
)

__all__ = [
    "FINAL_STATES",
    "GUARD_MESSAGES",
    "LABELS_EN",
    "LABELS_FR",
    "TRANSITIONS",
    "Actor",
    "Context",
    "IllegalTransition",
    "State",
    "TransitionRow",
    "Trigger",
    "allowed_triggers",
    "is_final",
    "label",
    "next_state",
]
