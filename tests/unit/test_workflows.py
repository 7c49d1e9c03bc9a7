"""Unit tests of the request lifecycle in ``workflows.requests`` (no app, no database)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import (
    FINAL_STATES,
    LABELS_EN,
    LABELS_FR,
    TRANSITIONS,
    Context,
    IllegalTransition,
    State,
    Trigger,
    allowed_triggers,
    is_final,
    label,
    next_state,
)
from workflows import requests as wf_requests

# The specification, written out independently of the module's table:
# (trigger, source, destination, actor, guards besides the actor check).
SPEC: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("start_check", "submitted", "duplicate_check", "system", ()),
    ("require_validation", "duplicate_check", "agent_validation", "system", ()),
    ("pass_check", "duplicate_check", "approved", "system", ("validation_not_required",)),
    ("approve", "agent_validation", "approved", "agent", ()),
    ("reject", "agent_validation", "rejected", "agent", ("has_reason",)),
    ("cancel", "submitted", "cancelled", "submitter", ()),
    ("cancel", "duplicate_check", "cancelled", "submitter", ()),
    ("cancel", "agent_validation", "cancelled", "submitter", ()),
    ("apply", "approved", "applied", "system", ()),
    ("fail", "approved", "failed", "system", ("has_reason",)),
    ("retry", "failed", "approved", "agent", ()),
]
SPEC_PAIRS = {(source, trigger) for trigger, source, *_ in SPEC}
ALL_STATES = [s.value for s in State]
ALL_TRIGGERS = [t.value for t in Trigger]
ACTORS = ["system", "agent", "submitter"]
NEEDS_AGENT = (
    "Une demande ne peut être approuvée sans validation par un agent que si la "
    "vérification des doublons l'a jugée inutile."
)


def spec_allowed(state: str) -> list[str]:
    """Triggers the specification allows from ``state``, sorted."""
    return sorted({trigger for trigger, source, *_ in SPEC if source == state})


def satisfying(actor: str) -> Context:
    """A context that passes every guard of a row fired by ``actor``."""
    return Context(actor_kind=actor, reason="Doublon confirmé", needs_validation=False)


def outcome(state: Any, trigger: Any, ctx: Context) -> tuple[Any, ...]:
    """The result of one ``next_state`` call as a comparable value."""
    try:
        return ("ok", next_state(state, trigger, ctx))
    except IllegalTransition as exc:
        return ("refused", exc.state, exc.trigger, tuple(exc.allowed), exc.reason)


def test_table_matches_the_specification() -> None:
    """The module's table holds exactly the specified transitions, actors and guards."""
    rows = {
        (row.trigger.value, source.value, row.dest.value, row.actor.value, row.guards)
        for row in TRANSITIONS
        for source in row.source
    }
    assert rows == set(SPEC)


@pytest.mark.parametrize(("trigger", "source", "dest", "actor", "guards"), SPEC)
def test_row_fires_from_source_to_destination(
    trigger: str, source: str, dest: str, actor: str, guards: tuple[str, ...]
) -> None:
    """Each row moves its source to its destination when its guards are satisfied."""
    assert next_state(source, trigger, satisfying(actor)) is State(dest)


@pytest.mark.parametrize(("trigger", "source", "dest", "actor", "guards"), SPEC)
def test_enum_members_and_strings_give_the_same_result(
    trigger: str, source: str, dest: str, actor: str, guards: tuple[str, ...]
) -> None:
    """``State``/``Trigger`` members are accepted like their string values."""
    assert next_state(State(source), Trigger(trigger), satisfying(actor)) is State(dest)


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for s in ALL_STATES for t in ALL_TRIGGERS if (s, t) not in SPEC_PAIRS],
)
@pytest.mark.parametrize("actor", ACTORS)
def test_pair_outside_the_table_is_illegal_and_lists_allowed_triggers(
    state: str, trigger: str, actor: str
) -> None:
    """A trigger with no row from the state raises, listing exactly the state's triggers."""
    with pytest.raises(IllegalTransition) as info:
        next_state(state, trigger, satisfying(actor))
    exc = info.value
    assert (exc.state, exc.trigger, exc.allowed) == (state, trigger, spec_allowed(state))
    name = LABELS_FR[State(state)]
    listing = ", ".join(exc.allowed) or "aucune"
    assert exc.reason == (
        f"La transition « {trigger} » n'est pas permise depuis l'état « {name} ». "
        f"Transitions permises : {listing}."
    )


@pytest.mark.parametrize("state", ALL_STATES)
def test_allowed_triggers_follow_the_table(state: str) -> None:
    """``allowed_triggers`` gives the sorted triggers whose source includes the state."""
    assert allowed_triggers(state) == spec_allowed(state)


@pytest.mark.parametrize(
    ("state", "trigger", "ctx", "failed", "message"),
    [
        (
            "agent_validation",
            "approve",
            Context("submitter"),
            ("actor_is_agent",),
            "Seul un agent peut approuver une demande.",
        ),
        (
            "agent_validation",
            "approve",
            Context("system"),
            ("actor_is_agent",),
            "Seul un agent peut approuver une demande.",
        ),
        (
            "failed",
            "retry",
            Context("submitter"),
            ("actor_is_agent",),
            "Seul un agent peut relancer une demande en erreur.",
        ),
        ("agent_validation", "reject", Context("agent"), ("has_reason",), "Un motif est requis."),
        (
            "agent_validation",
            "reject",
            Context("agent", reason=""),
            ("has_reason",),
            "Un motif est requis.",
        ),
        (
            "agent_validation",
            "reject",
            Context("agent", reason=" \t\n"),
            ("has_reason",),
            "Un motif est requis.",
        ),
        (
            "approved",
            "fail",
            Context("system", reason="  "),
            ("has_reason",),
            "Un motif est requis.",
        ),
        (
            "submitted",
            "cancel",
            Context("agent"),
            ("actor_is_submitter",),
            "Seul le demandeur peut annuler sa demande.",
        ),
        (
            "agent_validation",
            "cancel",
            Context("system"),
            ("actor_is_submitter",),
            "Seul le demandeur peut annuler sa demande.",
        ),
        (
            "duplicate_check",
            "pass_check",
            Context("system", needs_validation=True),
            ("validation_not_required",),
            NEEDS_AGENT,
        ),
        (
            "duplicate_check",
            "pass_check",
            Context("system", needs_validation=None),
            ("validation_not_required",),
            NEEDS_AGENT,
        ),
        (
            "approved",
            "apply",
            Context("agent"),
            ("actor_is_system",),
            "Seul le système peut appliquer une demande.",
        ),
        (
            "submitted",
            "start_check",
            Context("visitor"),
            ("actor_is_system",),
            "Seul le système peut lancer la vérification des doublons d'une demande.",
        ),
        (
            "agent_validation",
            "reject",
            Context("submitter", reason=" "),
            ("actor_is_agent", "has_reason"),
            "Seul un agent peut refuser une demande. Un motif est requis.",
        ),
    ],
)
def test_guard_refuses_with_a_french_message(
    state: str, trigger: str, ctx: Context, failed: tuple[str, ...], message: str
) -> None:
    """A guard whose condition fails refuses the move and says why, in French."""
    with pytest.raises(IllegalTransition) as info:
        next_state(state, trigger, ctx)
    exc = info.value
    assert (exc.failed_guards, exc.reason, str(exc)) == (failed, message, message)
    assert (exc.state, exc.trigger, exc.allowed) == (state, trigger, spec_allowed(state))


@pytest.mark.parametrize("state", sorted(s.value for s in FINAL_STATES))
@pytest.mark.parametrize("trigger", ALL_TRIGGERS)
def test_final_state_allows_nothing(state: str, trigger: str) -> None:
    """No trigger fires from a final state, whoever fires it."""
    for actor in ACTORS:
        with pytest.raises(IllegalTransition) as info:
            next_state(state, trigger, satisfying(actor))
        assert info.value.allowed == []
        assert info.value.reason.endswith("Transitions permises : aucune.")


@pytest.mark.parametrize("state", ALL_STATES)
def test_is_final_only_for_applied_rejected_and_cancelled(state: str) -> None:
    """Exactly applied, rejected and cancelled are final; failed stays retryable."""
    assert is_final(state) is (state in {"applied", "rejected", "cancelled"})
    assert is_final(state) is (allowed_triggers(state) == [])


@pytest.mark.parametrize("trigger", ["approuver", "APPROVE", "", "to_applied", None, 3])
def test_unknown_trigger_raises_illegal_transition(trigger: Any) -> None:
    """An unknown trigger name is an IllegalTransition listing the state's triggers."""
    with pytest.raises(IllegalTransition) as info:
        next_state("agent_validation", trigger, satisfying("agent"))
    assert info.value.allowed == ["approve", "cancel", "reject"]
    assert info.value.reason == (
        f"La transition « {trigger} » n'existe pas. Transitions permises : approve, cancel, reject."
    )


@pytest.mark.parametrize("state", ["soumise", "SUBMITTED", "", "initial", None])
@pytest.mark.parametrize(
    "call",
    [
        lambda s: next_state(s, "start_check", satisfying("system")),
        allowed_triggers,
        is_final,
        label,
    ],
    ids=["next_state", "allowed_triggers", "is_final", "label"],
)
def test_unknown_state_raises_illegal_transition(state: Any, call: Any) -> None:
    """An unknown state name is an IllegalTransition, never a KeyError or ValueError."""
    with pytest.raises(IllegalTransition) as info:
        call(state)
    assert (info.value.state, info.value.allowed) == (str(state), [])
    assert info.value.reason == f"L'état « {state} » n'existe pas."


def test_french_labels_match_the_design() -> None:
    """The French labels are the ones of DESIGN.md, in state order."""
    assert [label(s) for s in State] == [
        "Soumise",
        "Vérification des doublons",
        "Validation par un agent",
        "Approuvée",
        "Appliquée",
        "Refusée",
        "Annulée",
        "En erreur",
    ]


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_state_has_an_english_label(state: str) -> None:
    """``label(state, "en")`` reads LABELS_EN, which covers every state."""
    assert label(state, "en") == LABELS_EN[State(state)] != ""


def test_label_in_an_unsupported_language_raises_value_error() -> None:
    """Only "fr" and "en" labels exist."""
    with pytest.raises(ValueError, match="unsupported language"):
        label("submitted", "de")


def test_no_model_stays_attached_to_the_shared_machine() -> None:
    """Accepted, refused and illegal calls all detach their model from the one machine."""
    next_state("submitted", "start_check", satisfying("system"))
    for args in [
        ("agent_validation", "approve", Context("submitter")),
        ("applied", "apply", satisfying("system")),
        ("approved", "nope", satisfying("system")),
    ]:
        with pytest.raises(IllegalTransition):
            next_state(*args)
    assert wf_requests._MACHINE.models == []


def test_workflows_import_neither_flask_nor_sqlalchemy_nor_the_service() -> None:
    """Importing ``workflows`` loads no Flask, SQLAlchemy or ``catalogue_svc`` module."""
    code = (
        "import sys, workflows\n"
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'flask', 'sqlalchemy', 'flask_sqlalchemy', 'catalogue_svc'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


contexts = st.builds(
    Context,
    actor_kind=st.sampled_from([*ACTORS, "visitor"]),
    reason=st.sampled_from([None, "", "  ", "Doublon confirmé"]),
    needs_validation=st.sampled_from([None, True, False]),
)
triggers = st.sampled_from([*Trigger, *ALL_TRIGGERS, "bogus"])


@settings(max_examples=500, deadline=None, database=None)
@given(steps=st.lists(st.tuples(triggers, contexts), max_size=40))
def test_random_sequences_never_skip_validation_or_leave_a_final_state(
    steps: list[tuple[Trigger | str, Context]],
) -> None:
    """No path from submitted applies unapproved, skips a needed agent or leaves a final state."""
    state = State.SUBMITTED
    path = [state]
    for trigger, ctx in steps:
        try:
            new = next_state(state, trigger, ctx)
        except IllegalTransition:
            continue
        assert state not in FINAL_STATES
        if new is State.APPLIED:
            assert state is State.APPROVED
        if new is State.APPROVED:
            assert (state, ctx.actor_kind) in {
                (State.AGENT_VALIDATION, "agent"),
                (State.FAILED, "agent"),
                (State.DUPLICATE_CHECK, "system"),
            }
        if trigger == Trigger.PASS_CHECK:
            assert ctx.needs_validation is False
        state = new
        path.append(state)
    if State.APPLIED in path:
        assert State.APPROVED in path[: path.index(State.APPLIED)]


def test_concurrent_calls_give_the_sequential_results() -> None:
    """8 threads x 2,000 mixed calls on the shared machine match the sequential run."""
    rng = random.Random(20240601)
    ctx_pool = [
        Context(actor, reason, needs)
        for actor in [*ACTORS, "visitor"]
        for reason in [None, " ", "Motif"]
        for needs in [None, True, False]
    ]
    cases = [
        (
            rng.choice([*ALL_STATES, "bogus"]),
            rng.choice([*ALL_TRIGGERS, "bogus"]),
            rng.choice(ctx_pool),
        )
        for _ in range(2_000)
    ]
    expected = [outcome(*case) for case in cases]
    assert {o[0] for o in expected} == {"ok", "refused"}
    n_threads = 8
    barrier = threading.Barrier(n_threads)

    def run(offset: int) -> list[tuple[Any, ...]]:
        # Each thread starts at a different place, so different triggers overlap.
        order = cases[offset:] + cases[:offset]
        barrier.wait()
        results = [outcome(*case) for case in order]
        return results[-offset:] + results[:-offset] if offset else results

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        with ThreadPoolExecutor(n_threads) as pool:
            runs = list(pool.map(run, [i * 250 for i in range(n_threads)]))
    finally:
        sys.setswitchinterval(old_interval)
    for results in runs:
        assert results == expected
    assert wf_requests._MACHINE.models == []


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ("never", {}, False),
        ("never", {"conflicts": True}, True),
        ("always", {}, True),
        ("client_number_or_candidates", {}, False),
        ("client_number_or_candidates", {"client_number": True}, True),
        ("client_number_or_candidates", {"candidates": True}, True),
        ("never", {"candidates": True, "client_number": True}, False),
    ],
)
def test_an_agent_validates_a_client_number_a_candidate_or_a_conflict(rule, facts, expected):
    """The guide's rule: a client number or a possible duplicate sends the request to an agent;
    a conflict with another pending request always does."""
    from workflows import needs_agent

    given = {"conflicts": False, "candidates": False, "client_number": False, **facts}
    assert needs_agent(rule, **given) is expected
