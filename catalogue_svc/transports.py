"""Where the outbox's wake-ups go: RQ on Redis, the embedded thread, or nothing (tests).

After a commit, ``queue`` publishes the topics that got outbox rows; the transport chosen at start
(:func:`init_app`) turns each into a ``drain(topic)``: an RQ job (``jobs.drain_topic``), work for
the embedded thread, or a list the tests read. Losing a wake-up costs latency, never work: the
sweeper republishes what was left behind.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from flask import Flask

from .db import db
from .queue import HANDLERS, QUEUE_NAMES, Handler, queue_of, run_until_idle

log = logging.getLogger(__name__)


class Transport:
    """Where wake-ups go."""

    def publish(self, topics: list[str]) -> None:
        raise NotImplementedError

    def woken(self, topic: str) -> None:
        """A drain of ``topic`` starts: the next commit must wake a worker again."""

    def ping(self) -> bool:
        return True

    def begin(self, *, serving: bool | None, autostart: bool) -> None:
        """The service starts (``jobs.init_app``): ``serving`` is False for a CLI command that
        serves nothing, None outside the CLI. Only the embedded mode runs something itself."""

    def close(self) -> None:
        """Stop whatever the transport runs."""


class ManualTransport(Transport):
    """Tests: nothing runs by itself; the test calls :func:`run_until_idle`."""

    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, topics: list[str]) -> None:
        self.published.extend(topics)


class ThreadTransport(Transport):
    """The embedded mode: one background thread drains topics and sweeps periodically."""

    def __init__(self, app: Flask, sweep_interval: float = 5.0) -> None:
        self.app = app
        self.sweep_interval = sweep_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # A CLI command's app (`flask load-demo`, `flask import-dossiers`) never runs jobs: its
        # daemon thread would die with the command, maybe in the middle of an SMTP send. Its
        # work waits in the outbox for the service, whose start drains it (``jobs.init_app``).
        self.held = False
        # ``jobs.init_app`` starts the thread when the process serves; the first request or
        # publish starts it otherwise (an app built with CATALOGUE_JOBS_AUTOSTART=False).
        app.before_request(self.start)

    def hold(self) -> None:
        """Never start the thread in this process (a CLI command's app)."""
        self.held = True

    def begin(self, *, serving: bool | None, autostart: bool) -> None:
        """Hold the thread in a command that serves nothing; otherwise start it now if
        ``autostart`` (else at the first request or publish)."""
        if serving is False:
            self.hold()
        elif autostart:
            self.start()

    def start(self) -> None:
        """Start the background thread once (unless held)."""
        with self._start_lock:
            if self._thread is None and not self.held:
                self._thread = threading.Thread(
                    target=self._run, name="catalogue-jobs", daemon=True
                )
                self._thread.start()
                self._wake.set()  # first round at once: work left by an earlier run

    def publish(self, topics: list[str]) -> None:
        self.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.sweep_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            with self.app.app_context():
                try:
                    run_until_idle()
                except Exception:
                    log.exception("embedded job runner failed")
                finally:
                    db.session.remove()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


WAKE_PENDING_MS = 5000


def _wake_key(topic: str) -> str:
    return f"catalogue:wake-up-pending:{topic}"


class RQTransport(Transport):
    """Production: a ``drain(topic)`` job on the topic's RQ queue; failures only cost latency."""

    def __init__(self, redis_url: str, handlers: dict[str, Handler]) -> None:
        from redis import Redis
        from rq import Queue

        self.handlers = handlers  # the app's registry: publishing needs no app context

        self.redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.queues = {name: Queue(name, connection=self.redis) for name in QUEUE_NAMES.values()}

    def publish(self, topics: list[str]) -> None:
        """Enqueue a drain job for each topic that has none pending.

        A burst of commits (a busy web server) enqueues one job per topic, not one per commit:
        a key per topic marks a pending wake-up (``SET NX``, expiring after
        ``WAKE_PENDING_MS``) and :meth:`woken` clears it when a drain of the topic starts, before
        it claims anything, so a commit after that start wakes a worker again.
        """
        from rq import Retry

        try:
            with self.redis.pipeline() as pipe:
                for topic in topics:
                    pipe.set(_wake_key(topic), "1", nx=True, px=WAKE_PENDING_MS)
                topics = [t for t, fresh in zip(topics, pipe.execute(), strict=True) if fresh]
            if not topics:
                return
            from .jobs import drain_topic  # jobs builds on this module: imported when used

            with self.redis.pipeline() as pipe:
                for topic in topics:
                    queue = self.queues[queue_of(topic, self.handlers)]
                    queue.enqueue(
                        drain_topic,
                        topic,
                        job_timeout=300,
                        retry=Retry(max=3, interval=[1, 5, 15]),
                        result_ttl=60,
                        failure_ttl=3600,
                        pipeline=pipe,
                    )
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis down: the sweeper republishes later
            log.warning("wake-up not published", extra={"fields": {"error": type(exc).__name__}})
            with contextlib.suppress(Exception):  # not pending after all: the next may publish
                self.redis.delete(*(_wake_key(t) for t in topics))

    def woken(self, topic: str) -> None:
        with contextlib.suppress(Exception):  # Redis away: the key expires on its own
            self.redis.delete(_wake_key(topic))

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        self.redis.close()


def init_app(app: Flask) -> None:
    """Choose the transport: RQ when REDIS_URL is set, else the embedded one."""
    settings = app.config["CATALOGUE_SETTINGS"]
    mode = app.config.get("CATALOGUE_QUEUE_MODE")
    transport: Transport
    if settings.redis_url and mode != "manual":
        transport = RQTransport(settings.redis_url, app.extensions.setdefault(HANDLERS, {}))
    elif mode == "thread":
        transport = ThreadTransport(app)
    else:
        transport = ManualTransport()
    app.extensions["catalogue_transport"] = transport
