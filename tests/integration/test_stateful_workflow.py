"""R9: random interleavings of the request pipeline never reach a contradictory or skipped state.

A Hypothesis state machine drives the service layer directly (no HTTP): submissions, agents'
claim/approve/reject/retry, the submitter's cancel, the clock, and a hostile transport that
delivers outbox messages out of order, twice (a copy handed straight to the handler, as an RQ
redelivery would), or never (a worker that claims a message and dies), and a duplicate index that
fails every attempt of a check until its message is exhausted. After every step the
stored history is checked against the rules of RELIABILITY.md; at the end of each example every
message is drained and every request must rest in a final state, ``agent_validation`` or
``failed``.

``CATALOGUE_STATEFUL_EXAMPLES`` sets the number of examples (the R9 target is 500).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Flask, current_app
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, or_, select, update

from catalogue_svc import queue
from catalogue_svc.agents import service as agents
from catalogue_svc.clock import clock, now
from catalogue_svc.db import db
from catalogue_svc.errors import Conflict, ValidationFailed
from catalogue_svc.profiles.models import Contact, ProfileChange
from catalogue_svc.requests import service
from catalogue_svc.requests.models import Request, RequestEvent
from tests.accounts_helpers import create_account, link_account
from tests.factories import Firm, guide_firm
from tests.submissions import add_new_member

EXAMPLES = int(os.environ.get("CATALOGUE_STATEFUL_EXAMPLES", "60"))
PIPELINE = (service.CHECK_TOPIC, service.APPLY_TOPIC)
FINAL = frozenset({"applied", "rejected", "cancelled"})
RESTING = FINAL | {"agent_validation", "failed"}
CANCELLABLE = frozenset({"submitted", "duplicate_check", "agent_validation"})

# What a submission asks for. The "new_*" kinds create a person; the last two must see an agent.
KINDS = (
    "new",  # a new member, nobody like them in the store
    "new_client_number",  # a new member who already has a client number
    "new_known_person",  # a "new" member who is in fact an existing contact (a duplicate)
    "existing",  # an existing member gets one more relation and subjects
    "remove",  # every relation of a member ends
    "update",  # a member's language changes
)
FORCED_VALIDATION = frozenset({"new_client_number", "new_known_person"})
MAX_REQUESTS = 6  # per example: enough to interleave, few enough to let them progress
AGENT_ACTIONS = ("approve", "reject", "claim", "approve_merged", "release", "retry")
FIRST_NAMES = ("Julie", "Mathieu", "Océane", "Bruno", "Yasmine", "Frédéric", "Lina", "Gaston")
LAST_NAMES = ("Lévesque", "Ouellet", "Bouchard", "Nguyen", "Pelletier", "Côté", "Haddad", "Roy")


@dataclass
class Tracked:
    """What the model knows of one accepted submission."""

    id: int
    number: str
    kind: str
    final: str | None = None
    final_version: int | None = None

    @property
    def must_see_an_agent(self) -> bool:
        return self.kind in FORCED_VALIDATION

    @property
    def creates_person(self) -> bool:
        return self.kind.startswith("new")


def _fresh() -> None:
    """Start a step like a separate process would: an empty session."""
    db.session.remove()


def _clear() -> None:
    """Empty every table (DELETE: on PostgreSQL, far cheaper than TRUNCATE for tiny tables)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _claim_is_live(request: Request) -> bool:
    lapse = dt.timedelta(seconds=current_app.config["CATALOGUE_SETTINGS"].claim_lapse_seconds)
    return bool(
        request.claimed_by_account_id and request.claimed_at and request.claimed_at + lapse > now()
    )


def _ready_pipeline_ids() -> list[int]:
    at = now()
    return list(
        db.session.scalars(
            select(queue.OutboxMessage.id)
            .where(
                queue.OutboxMessage.topic.in_(PIPELINE),
                queue.OutboxMessage.done_at.is_(None),
                queue.OutboxMessage.available_at <= at,
                or_(
                    queue.OutboxMessage.lease_until.is_(None),
                    queue.OutboxMessage.lease_until < at,
                ),
            )
            .order_by(queue.OutboxMessage.id)
        )
    )


def _lease(message_id: int) -> queue.OutboxMessage | None:
    """Claim one chosen message as a worker would (CAS on its lease); None if it was taken."""
    at = now()
    owner = uuid.uuid4().hex
    result = db.session.execute(
        update(queue.OutboxMessage)
        .where(
            queue.OutboxMessage.id == message_id,
            queue.OutboxMessage.done_at.is_(None),
            or_(
                queue.OutboxMessage.lease_until.is_(None),
                queue.OutboxMessage.lease_until < at,
            ),
        )
        .values(
            lease_owner=owner,
            lease_until=at + dt.timedelta(seconds=queue.LEASE_SECONDS),
            attempts=queue.OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.session.get(queue.OutboxMessage, message_id, populate_existing=True)


class PipelineMachine(RuleBasedStateMachine):
    """The pipeline under a hostile transport; the model is what each request must be able to do."""

    app: ClassVar[Flask]

    def __init__(self) -> None:
        super().__init__()
        _fresh()
        _clear()
        clock.reset()
        # The same instant for every run of an example, so that a replay behaves the same.
        clock.freeze(dt.datetime.combine(dt.date.today(), dt.time(6), tzinfo=dt.UTC))
        self.firm: Firm = guide_firm(self.app)
        account = create_account(self.app, first_name="REBECCA", last_name="DESCOTEAUX-LAFORCE")
        link_account(
            self.app, account.id, contact_id=self.firm.rebecca, organisation_id=self.firm.firm
        )
        self.submitter = service.Actor("submitter", account.id, "REBECCA DESCOTEAUX-LAFORCE")
        self.agents = [
            service.Actor(
                "agent",
                create_account(self.app, role="agent", first_name=first, last_name="Agent").id,
                f"{first} Agent",
            )
            for first in ("Alex", "Sam")
        ]
        known = db.session.get(Contact, self.firm.marie_karine)
        assert known is not None and known.birth_date is not None
        self.known_person = {
            "first_name": known.first_name,
            "last_name": known.last_name,
            "birth_date": known.birth_date.isoformat(),
            "email": known.email,
        }
        self.tracked: dict[int, Tracked] = {}
        self.states: dict[int, str] = {}  # as stored after the last step
        self.serial = 0
        _fresh()

    # ------------------------------------------------------------ helpers

    def _variables(self, kind: str, language: str) -> tuple[str, dict[str, Any]]:
        self.serial += 1
        n = self.serial
        if kind.startswith("new"):
            person: dict[str, Any] = {
                "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
                "last_name": f"{LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}-{n}",
                "birth_date": (dt.date(1960, 1, 1) + dt.timedelta(days=397 * n)).isoformat(),
                "email": f"nouveau.{n}@exemple.test",
                "language": language,
            }
            if kind == "new_client_number":
                person["client_number"] = f"{7000000 + n}"
            if kind == "new_known_person":
                person.update(self.known_person)
            return "add-relation", add_new_member(person)
        if kind == "existing":
            return "add-relation", {
                "contact_id": self.firm.marie_helene,
                "relation_type": "individu_autorise",
                "subjects": ["rapport_mensuel"],
                "attestation": True,
                "attestation_consent": True,
            }
        if kind == "remove":
            return "remove-relation", {
                "contact_id": self.firm.marie_karine,
                "removal": "all_relations",
                "attestation": True,
            }
        return "update-contact", {
            "contact_id": self.firm.marie_helene,
            "sections": ["coordonnees"],
            "language": language,
            "attestation": True,
        }

    def _request(self, data: st.DataObject, *prefer: str) -> tuple[Tracked, Request]:
        """Any request, or (half the time, when there is one) a request in a ``prefer`` state."""
        ids = sorted(self.tracked)
        if prefer:
            wanted = [i for i in ids if self.states.get(i) in prefer]
            if wanted:
                ids_strategy = st.one_of(st.sampled_from(wanted), st.sampled_from(ids))
                ids = [data.draw(ids_strategy, label="request")]
        tracked = self.tracked[data.draw(st.sampled_from(ids), label="request")]
        request = db.session.get(Request, tracked.id)
        assert request is not None
        return tracked, request

    def _some(self, *states: str) -> bool:
        return any(state in states for state in self.states.values())

    def _expect(self, call: Callable[[], Any], allowed: bool, what: str) -> bool:
        """Run an agent's or submitter's action: success iff ``allowed``, else a 409."""
        try:
            call()
        except Conflict:
            db.session.rollback()
            assert not allowed, f"{what} was refused although the request allowed it"
            return False
        assert allowed, f"{what} succeeded although the request did not allow it"
        return True

    # ------------------------------------------------------------ submitter

    @initialize(
        kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3), checked=st.booleans()
    )
    def first_submissions(self, kinds: list[str], checked: bool) -> None:
        """A head start: a few submissions, their duplicate check possibly already run."""
        for kind in kinds:
            self.submit(kind, "en")
        if checked:
            _fresh()
            queue.drain(service.CHECK_TOPIC)

    @precondition(lambda self: len(self.tracked) < MAX_REQUESTS)
    @rule(kind=st.sampled_from(KINDS), language=st.sampled_from(("fr", "en")))
    def submit(self, kind: str, language: str) -> None:
        _fresh()
        item, variables = self._variables(kind, language)
        before = _count(Request)
        try:
            body = service.submit(
                account_id=self.submitter.account_id,  # type: ignore[arg-type]
                account_name=self.submitter.name,
                profile_id=self.firm.firm,
                item=item,
                variables=variables,
            )
        except ValidationFailed:
            # e.g. removing a member who has no relation left: refused, nothing recorded.
            db.session.rollback()
            assert _count(Request) == before
            return
        assert body["state"] == "submitted"
        request = db.session.scalar(select(Request).where(Request.number == body["number"]))
        assert request is not None
        self.tracked[request.id] = Tracked(request.id, request.number or "", kind)

    @precondition(lambda self: self._some(*CANCELLABLE))
    @rule(data=st.data())
    def submitter_cancels(self, data: st.DataObject) -> None:
        _fresh()
        _, request = self._request(data, *CANCELLABLE)
        allowed = request.state in CANCELLABLE
        if self._expect(
            lambda: service.cancel(
                number=request.number or "",
                account_id=self.submitter.account_id,  # type: ignore[arg-type]
                account_name=self.submitter.name,
            ),
            allowed,
            f"cancel from {request.state}",
        ):
            _fresh()
            assert db.session.get(Request, request.id).state == "cancelled"  # type: ignore[union-attr]

    # ------------------------------------------------------------ agents

    @precondition(lambda self: self._some("agent_validation", "failed"))
    @rule(data=st.data())
    def agent_acts(self, data: st.DataObject) -> None:
        """An agent claims, releases, approves (maybe merging), rejects or retries a request."""
        agent = data.draw(st.integers(0, 1), label="agent")
        action = data.draw(st.sampled_from(AGENT_ACTIONS), label="action")
        _fresh()
        _, request = self._request(data, "failed" if action == "retry" else "agent_validation")
        actor = self.agents[agent]
        number = request.number or ""
        state = request.state
        free = not _claim_is_live(request) or request.claimed_by_account_id == actor.account_id
        if action == "claim":
            self._expect(
                lambda: agents.claim(number=number, agent=actor),
                state == "agent_validation" and free,
                action,
            )
        elif action == "release":
            mine = request.claimed_by_account_id == actor.account_id
            self._expect(
                lambda: agents.release(number=number, agent=actor),
                state == "agent_validation" and mine,
                action,
            )
        elif action == "reject":
            self._expect(
                lambda: agents.reject(
                    number=number, agent=actor, reason="Doublon d'un contact existant."
                ),
                state == "agent_validation" and free,
                f"reject from {state}",
            )
        elif action == "retry":
            self._expect(
                lambda: agents.retry(number=number, agent=actor),
                state == "failed",
                f"retry from {state}",
            )
        else:
            candidates = [c["contact_id"] for c in request.duplicate_candidates or []]
            merge_id = (
                data.draw(st.sampled_from(candidates), label="merge_with")
                if action == "approve_merged" and candidates and state == "agent_validation"
                else None
            )
            if self._expect(
                # Without a merge the agent chooses a new contact (a probable duplicate needs
                # that choice said).
                lambda: agents.approve(
                    number=number,
                    agent=actor,
                    merge_with_contact_id=merge_id,
                    create_new_contact=merge_id is None,
                ),
                state == "agent_validation" and free,
                f"approve from {state}",
            ):
                _fresh()
                fresh = db.session.get(Request, request.id)
                assert fresh is not None and fresh.state == "approved"
                assert fresh.merge_with_contact_id == merge_id
                apply_key = f"apply:{fresh.id}:{fresh.version}"
                assert _count(queue.OutboxMessage, queue.OutboxMessage.dedupe_key == apply_key) == 1

    # ------------------------------------------------------------ transport and clock

    @precondition(lambda self: self.tracked)
    @rule(data=st.data())
    def deliver_one(self, data: st.DataObject) -> None:
        """A worker takes any ready message (not necessarily the oldest) and processes it."""
        _fresh()
        ready = _ready_pipeline_ids()
        if not ready:
            return
        message = _lease(data.draw(st.sampled_from(ready), label="message"))
        assert message is not None
        ok = queue.process(message)
        _fresh()
        row = db.session.get(queue.OutboxMessage, message.id)
        assert ok, f"handler of {message.topic} failed: {row.last_error if row else '?'}"

    @precondition(lambda self: self.tracked)
    @rule(data=st.data())
    def redeliver_copy(self, data: st.DataObject) -> None:
        """RQ runs a message again (done or not): the handler gets a copy, outside the outbox."""
        _fresh()
        rows = db.session.scalars(
            select(queue.OutboxMessage)
            .where(queue.OutboxMessage.topic.in_(PIPELINE))
            .order_by(queue.OutboxMessage.id)
        ).all()
        if not rows:
            return
        original = data.draw(st.sampled_from(rows), label="duplicate of")
        copy = queue.OutboxMessage(
            id=original.id, topic=original.topic, payload=dict(original.payload)
        )
        _fresh()
        queue.handler_for(copy.topic).func(copy)
        db.session.commit()

    @precondition(lambda self: self._some("submitted"))
    @rule(data=st.data())
    def duplicate_index_outage(self, data: st.DataObject) -> None:
        """The duplicate check fails on every attempt until its message is exhausted: the request
        must not stay stuck, an agent has to validate it."""
        _fresh()
        ready = [
            m
            for m in db.session.scalars(
                select(queue.OutboxMessage)
                .where(
                    queue.OutboxMessage.topic == service.CHECK_TOPIC,
                    queue.OutboxMessage.done_at.is_(None),
                )
                .order_by(queue.OutboxMessage.id)  # a stable order: Hypothesis replays draws
            )
            if self.states.get(m.payload["request_id"]) == "submitted"
        ]
        if not ready:
            return
        chosen = data.draw(st.sampled_from(ready), label="outage of")
        request_id = chosen.payload["request_id"]

        def unavailable(person: Any) -> Any:
            raise RuntimeError("duplicate index unavailable")

        finders = self.app.extensions
        saved = finders.get("catalogue_duplicate_finder")
        finders["catalogue_duplicate_finder"] = unavailable
        try:
            for _ in range(queue.handler_for(service.CHECK_TOPIC).max_attempts + 1):
                clock.advance(queue.LEASE_SECONDS + 601)  # past any lease and back-off
                _fresh()
                message = _lease(chosen.id)
                if message is None:
                    break  # done (succeeded or exhausted)
                queue.process(message)
        finally:
            finders["catalogue_duplicate_finder"] = saved
        _fresh()
        request = db.session.get(Request, request_id)
        row = db.session.get(queue.OutboxMessage, chosen.id)
        assert request is not None and row is not None and row.done_at is not None
        if row.failed:  # the check needed the index and never ran
            assert (request.state, request.needs_validation) == ("agent_validation", True), (
                f"{request.number} left in {request.state} after its check was exhausted"
            )

    @precondition(lambda self: self.tracked)
    @rule(topic=st.sampled_from(PIPELINE))
    def drain(self, topic: str) -> None:
        _fresh()
        queue.drain(topic)

    @precondition(lambda self: self.tracked)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        """A worker claims a message and dies: the message waits for its lease to expire."""
        _fresh()
        ready = _ready_pipeline_ids()
        if ready:
            assert _lease(data.draw(st.sampled_from(ready), label="dropped")) is not None

    @precondition(lambda self: self.tracked)
    @rule(seconds=st.sampled_from((1, 30, queue.LEASE_SECONDS + 1, 700, 3601)))
    def time_passes(self, seconds: int) -> None:
        # (Named to sort after the delivery rules: Hypothesis favours the first rule.)
        clock.advance(seconds)

    # ------------------------------------------------------------ invariants

    @invariant()
    def history_is_consistent(self) -> None:
        _fresh()
        requests = db.session.scalars(select(Request).order_by(Request.id)).all()
        events: dict[int, list[RequestEvent]] = defaultdict(list)
        for event in db.session.scalars(select(RequestEvent).order_by(RequestEvent.id)):
            events[event.request_id].append(event)
        changes: dict[int, list[ProfileChange]] = defaultdict(list)
        for change in db.session.scalars(
            select(ProfileChange).where(ProfileChange.request_id.is_not(None))
        ):
            changes[change.request_id].append(change)  # type: ignore[index]
        created = dict(
            db.session.execute(
                select(Contact.created_by_request_id, func.count())
                .where(Contact.created_by_request_id.is_not(None))
                .group_by(Contact.created_by_request_id)
            ).all()
        )
        assert set(self.tracked) == {r.id for r in requests}
        self.states = {r.id: r.state for r in requests}
        for request in requests:
            self._check_request(request, events[request.id], changes[request.id], created)

    def _check_request(
        self,
        request: Request,
        events: list[RequestEvent],
        changes: list[ProfileChange],
        created: dict[int, int],
    ) -> None:
        tracked = self.tracked[request.id]
        where = f"{request.number} ({tracked.kind})"
        moves = [e for e in events if e.version is not None]
        # One history row per transition, versions strictly consecutive, a connected chain.
        assert [e.version for e in moves] == list(range(request.version)), where
        assert (moves[0].trigger, moves[0].from_state, moves[0].to_state) == (
            "submit",
            None,
            "submitted",
        ), where
        for before, after in itertools.pairwise(moves):
            assert after.from_state == before.to_state, where
        assert moves[-1].to_state == request.state, where
        triggers = [e.trigger for e in moves]
        for once in ("start_check", "require_validation", "pass_check", "approve", "reject"):
            assert triggers.count(once) <= 1, where
        assert triggers.count("apply") <= 1, where
        for event in moves:
            if event.trigger in ("approve", "reject", "retry"):
                assert event.actor_kind == "agent", where
            if event.trigger == "cancel":
                assert event.actor_kind == "submitter", where
        # Never approved without the validation it needed.
        needs_agent = tracked.must_see_an_agent or bool(request.needs_validation)
        if "pass_check" in triggers:
            assert not tracked.must_see_an_agent, where
            assert request.needs_validation is False and not request.duplicate_candidates, where
        if tracked.must_see_an_agent and "start_check" in triggers:
            assert "require_validation" in triggers, where
        if "apply" in triggers:
            applied_at = triggers.index("apply")
            assert moves[applied_at].from_state == "approved", where
            before = triggers[:applied_at]
            assert "approve" in before or "pass_check" in before, where
            if needs_agent:
                assert "require_validation" in before and "approve" in before, where
                assert "pass_check" not in before, where
        # Final states never change.
        if tracked.final is not None:
            assert (request.state, request.version) == (tracked.final, tracked.final_version), (
                f"{where}: left final state {tracked.final}"
            )
        elif request.state in FINAL:
            tracked.final, tracked.final_version = request.state, request.version
        # Effects: one ProfileChange per operation of an applied changeset, none otherwise.
        if request.state == "applied":
            changeset = request.changeset or []
            assert sorted(c.op_index for c in changes) == list(range(len(changeset))), where  # type: ignore[type-var]
            for change in changes:
                assert change.operation == changeset[change.op_index]["op"], where  # type: ignore[index]
        else:
            assert changes == [], f"{where}: effects while {request.state}"
        # No contact created twice for one request, and only by an applied one.
        people = created.get(request.id, 0)
        if request.state == "applied" and tracked.creates_person:
            assert people == (0 if request.merge_with_contact_id else 1), where
        else:
            assert people == 0, where

    # ------------------------------------------------------------ end of an example

    def teardown(self) -> None:
        try:
            for _ in range(12):
                clock.advance(3601)  # past every lease and back-off
                for topic in PIPELINE * 3:  # an applied check emits an apply
                    _fresh()
                    queue.drain(topic)
                _fresh()
                if not _count(
                    queue.OutboxMessage,
                    queue.OutboxMessage.topic.in_(PIPELINE),
                    queue.OutboxMessage.done_at.is_(None),
                ):
                    break
            _fresh()
            stuck = db.session.scalars(
                select(queue.OutboxMessage).where(
                    queue.OutboxMessage.topic.in_(PIPELINE),
                    queue.OutboxMessage.done_at.is_(None),
                )
            ).all()
            assert not stuck, [(m.id, m.topic, m.last_error) for m in stuck]
            states = {r.number: r.state for r in db.session.scalars(select(Request))}
            assert all(state in RESTING for state in states.values()), states
            self.history_is_consistent()
        finally:
            _fresh()
            clock.reset()


def test_random_interleavings_never_skip_a_required_step(make_app: Callable[..., Flask]) -> None:
    """R9: under drops, duplicates and reordering, no request skips validation or applies twice."""
    app = make_app()

    class Machine(PipelineMachine):
        pass

    Machine.app = app
    with app.app_context():
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
