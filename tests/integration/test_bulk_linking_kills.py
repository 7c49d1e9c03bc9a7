"""Issue 18, item 3, under faults: the bulk sending of linking credentials with its pipeline and
mail workers killed (SIGKILL) while it applies and sends. Each member ends with exactly one valid
code, and every email a member received carries that code (a crash between the send and its mark
may repeat the same email, never send a code that is no longer valid), and no email is left
unsent."""

from __future__ import annotations

import random
import re
import signal
import time
from collections import defaultdict

from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.linking.models import LinkingCredential
from catalogue_svc.notifications.models import Email
from catalogue_svc.requests.models import Request
from catalogue_svc.requests.service import submit
from tests.accounts_helpers import create_account, link_account
from tests.factories import add_member, guide_firm
from tests.integration.test_workers import wait_until
from tests.servers import body
from tests.workers_helpers import SHORT_LEASES, start_worker, worker_env

SENDS = 3  # bulk requests
MEMBERS_PER_SEND = 15
KILL_ROUNDS = 8
IDENTIFIER = re.compile(r"L-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _members(firm_id: int, count: int) -> list[int]:
    ids = [
        add_member(
            firm_id, first_name=f"Membre{i}", last_name="Envoi", email=f"envoi{i}@laforce.example"
        )
        for i in range(count)
    ]
    db.session.commit()
    return ids


def _applied() -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Request).where(Request.state == "applied")
        )
        or 0
    )


def _unsent() -> int:
    return int(
        db.session.scalar(select(func.count()).select_from(Email).where(Email.sent_at.is_(None)))
        or 0
    )


def test_killed_workers_leave_each_member_one_valid_code_by_email(make_app, redis_server, mailbox):
    """Three bulk sends to 45 members, workers killed at random: each member one active code,
    every email received names it, no email unsent."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    rng = random.Random(20261207)
    with app.app_context():
        firm = guide_firm(app)
        account = create_account(app, email="rebecca.envoi@laforce.example")
        link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
        members = _members(firm.firm, SENDS * MEMBERS_PER_SEND)
        for n in range(SENDS):
            chosen = members[n * MEMBERS_PER_SEND : (n + 1) * MEMBERS_PER_SEND]
            answer = submit(
                account_id=account.id,
                account_name="REBECCA",
                profile_id=firm.firm,
                item="send-linking-credentials",
                variables={"contact_ids": chosen, "attestation": True},
            )
            assert answer["state"] == "submitted"
        env = worker_env(app, redis_server.url, mailbox.url, **SHORT_LEASES)
        workers = [start_worker(env, "pipeline"), start_worker(env, "email")]
        queues = ["pipeline", "email"]
        kills = 0
        try:
            for _ in range(KILL_ROUNDS):
                time.sleep(rng.uniform(0.1, 0.6))  # a random moment, not a wait for anything
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = start_worker(env, queues[victim])
            assert wait_until(lambda: _applied() == SENDS, timeout=120), (
                f"{_applied()} of {SENDS} sends applied after {kills} kills"
            )
            assert wait_until(lambda: _unsent() == 0, timeout=120), f"{_unsent()} emails unsent"
        finally:
            for process in workers:
                process.kill()
                process.wait()

        active: dict[int, list[str]] = defaultdict(list)
        for contact_id, identifier in db.session.execute(
            select(LinkingCredential.contact_id, LinkingCredential.identifier).where(
                LinkingCredential.state == "active"
            )
        ):
            active[contact_id].append(identifier)
        for i, contact_id in enumerate(members):
            assert len(active[contact_id]) == 1, f"member {i}: {active[contact_id]}"
            received = mailbox.to(f"envoi{i}@laforce.example")
            assert 1 <= len(received) <= 1 + kills, f"member {i}: {len(received)} emails"
            named = {m for message in received for m in IDENTIFIER.findall(body(message))}
            assert named == set(active[contact_id]), f"member {i}: {named}"
