"""At a light load, the job that ran a request's check goes on with its apply without waking a
second worker for it; a drain that does not follow (the embedded thread's) wakes the apply."""

from __future__ import annotations

from rq import Queue

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from tests.integration.test_workers import submit_many


def _queues(app):
    redis = app.extensions["catalogue_transport"].redis
    return Queue("pipeline", connection=redis), Queue("email", connection=redis)


def test_a_light_load_check_job_applies_the_request_itself(make_app, redis_server):
    """One request checked by a following drain (the RQ job's): applied by that same job, no
    apply job enqueued for another worker; its emails are woken as usual."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    pipeline, email = _queues(app)
    with app.app_context():
        [request_id] = submit_many(app, 1)
        assert pipeline.count == 1  # the check's wake-up

        queue.drain("request.check", follow=True)

        db.session.rollback()
        assert db.session.get(Request, request_id).state == "applied"
    assert pipeline.count == 1  # still only the check's: nobody else was sent for the apply
    assert email.count == 1


def test_a_drain_that_does_not_follow_wakes_the_apply(make_app, redis_server):
    """Without follow, the check's commit wakes a worker for the apply, which waits for it."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    pipeline, _ = _queues(app)
    with app.app_context():
        [request_id] = submit_many(app, 1)

        queue.drain("request.check")

        db.session.rollback()
        assert db.session.get(Request, request_id).state == "approved"
    assert pipeline.count == 2  # the check's wake-up and the apply's
