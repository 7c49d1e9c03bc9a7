"""Issue 16, item 6: each app holds its own registry of topic handlers (``app.extensions``), so a
handler a test or a second app declares never leaks into another app."""

from __future__ import annotations

from catalogue_svc import queue


def test_a_handler_declared_in_one_app_is_unknown_to_another(make_app):
    """A topic registered in the first app is not handled by the second."""
    first, second = make_app(), make_app()
    queue.register(first, "test.only-here", queue.Handler(func=lambda message: None, queue="email"))
    with first.app_context():
        assert queue.queue_of("test.only-here") == "email"
        assert "test.only-here" in queue.handlers()
    with second.app_context():
        assert "test.only-here" not in queue.handlers()
        assert queue.queue_of("test.only-here") == "pipeline"


def test_every_app_registers_the_services_topics(app):
    """The pipeline, the emails, the reset codes and the escalation: each app knows them."""
    assert {"request.check", "request.apply", "email.send", "sla.escalate"} <= set(queue.handlers())
