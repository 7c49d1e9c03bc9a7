"""Real RQ worker processes on a real Redis: nothing lost, nothing applied twice (R1, R4)."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from sqlalchemy import func, select

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.notifications.models import Email
from catalogue_svc.profiles.models import ProfileChange
from catalogue_svc.requests.models import Request, RequestEvent
from catalogue_svc.requests.service import submit
from tests.accounts_helpers import create_account, link_account
from tests.factories import guide_firm
from tests.servers import free_port
from tests.submissions import new_member
from tests.workers_helpers import SHORT_LEASES, run_burst, start_worker, worker_env

KILL_ROUNDS = int(os.environ.get("CATALOGUE_R1_KILLS", "12"))
REQUESTS = int(os.environ.get("CATALOGUE_R1_REQUESTS", "60"))


def submit_many(app, count: int) -> list[int]:
    """``count`` submissions by the guide firm's responsable; returns their ids."""
    firm = guide_firm(app)
    account = create_account(app)
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    for i in range(count):
        answer = submit(
            account_id=account.id,
            account_name="REBECCA",
            profile_id=firm.firm,
            item="add-relation",
            variables=new_member(i),
        )
        assert answer["state"] == "submitted"
    return list(db.session.scalars(select(Request.id)))


def wait_until(predicate, timeout: float) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if predicate():
            return True
        time.sleep(0.2)
    return False


def applied_count() -> int:
    """Requests in the applied state."""
    return db.session.scalar(
        select(func.count()).select_from(Request).where(Request.state == "applied")
    )


def test_a_burst_of_commits_enqueues_one_wake_up_per_topic(make_app, redis_server):
    """One drain job pending per topic, however many commits: the next is enqueued once a
    drain of the topic has started."""
    from rq import Queue

    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    transport = app.extensions["catalogue_transport"]
    pipeline = Queue("pipeline", connection=transport.redis)
    for _ in range(5):
        transport.publish(["request.check"])
    assert pipeline.count == 1
    transport.publish(["request.apply"])
    assert pipeline.count == 2
    with app.app_context():
        queue.drain("request.check")  # nothing to do, but a drain started
    transport.publish(["request.check", "request.apply"])
    assert pipeline.count == 3


def test_redis_down_at_submission_loses_nothing(make_app, redis_server, mailbox):
    """R4/R3: with Redis unreachable the submission still answers; the sweeper publishes later."""
    dead = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", CATALOGUE_QUEUE_MODE="rq")
    with dead.app_context():
        [request_id] = submit_many(dead, 1)
        assert db.session.get(Request, request_id).state == "submitted"
    live = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    with live.app_context():
        assert queue.sweep() == ["request.check"]
        env = worker_env(live, redis_server.url, mailbox.url, **SHORT_LEASES)
        for name in ("pipeline", "pipeline", "email"):
            run_burst(env, name, timeout=60)
            queue.sweep()
        db.session.rollback()
        assert db.session.get(Request, request_id).state == "applied"
    assert len(mailbox.to("membre0@laforce.example")) == 1


@pytest.mark.timeout(300)
def test_killed_workers_lose_nothing_and_apply_nothing_twice(make_app, redis_server, mailbox):
    """R1/R2: SIGKILL of worker processes at random while requests apply: all applied once."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    rng = random.Random(20261127)
    with app.app_context():
        ids = submit_many(app, REQUESTS)
        env = worker_env(app, redis_server.url, mailbox.url, **SHORT_LEASES)
        workers = [start_worker(env, "pipeline"), start_worker(env, "pipeline")]
        mailer = start_worker(env, "email")
        kills = 0
        try:
            for _ in range(KILL_ROUNDS):
                time.sleep(rng.uniform(0.2, 0.8))
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = start_worker(env, "pipeline")
            assert wait_until(lambda: applied_count() == len(ids), timeout=120), (
                f"{applied_count()} of {len(ids)} applied after {kills} kills"
            )
            assert wait_until(
                lambda: (
                    db.session.scalar(
                        select(func.count()).select_from(Email).where(Email.sent_at.is_(None))
                    )
                    == 0
                ),
                timeout=60,
            )
        finally:
            for process in [*workers, mailer]:
                process.kill()
                process.wait()
        applies = db.session.execute(
            select(RequestEvent.request_id, func.count())
            .where(RequestEvent.trigger == "apply")
            .group_by(RequestEvent.request_id)
        ).all()
        assert sorted(request_id for request_id, _ in applies) == sorted(ids)
        assert {count for _, count in applies} == {1}
        per_op = db.session.execute(
            select(func.count())
            .select_from(ProfileChange)
            .group_by(ProfileChange.request_id, ProfileChange.op_index)
            .having(func.count() > 1)
        ).all()
        assert per_op == []
        # every new member got one linking email (a crash between send and mark may repeat one)
        for i in range(REQUESTS):
            assert 1 <= len(mailbox.to(f"membre{i}@laforce.example")) <= 1 + kills
