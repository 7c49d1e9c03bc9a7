"""Rate limits: the sliding-window limiter (in process and in Redis) and the endpoints' 429s."""

from __future__ import annotations

import secrets
import uuid

import pytest
from sqlalchemy import select

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.errors import RateLimited
from catalogue_svc.linking.models import LinkingCredential
from catalogue_svc.linking.service import issue
from catalogue_svc.ratelimit import Limit, MemoryStore, RateLimiter, RedisStore
from tests.accounts_helpers import anonymous_client, create_account, login_client, make_profile
from tests.servers import free_port

LIMIT = Limit("test", 3, 60)


@pytest.fixture(params=["memory", "redis"])
def store(request):
    """A fresh store of each kind."""
    if request.param == "memory":
        yield MemoryStore()
        return
    server = request.getfixturevalue("redis_server")
    redis_store = RedisStore(server.url, f"rl-{uuid.uuid4().hex}")
    yield redis_store
    redis_store.close()


@pytest.fixture()
def frozen():
    """The service clock, stopped (tests move it by hand)."""
    clock.freeze()
    yield clock
    clock.reset()


def refused_for(limiter: RateLimiter, key: str = "k") -> int | None:
    """The Retry-After of a refused hit, or None when the hit passed."""
    try:
        limiter.hit((LIMIT, key))
    except RateLimited as exc:
        return int(exc.headers["Retry-After"])
    return None


def test_limit_allows_max_attempts_then_gives_retry_after(store, frozen):
    """Three attempts pass, the fourth is refused until the first leaves the window."""
    limiter = RateLimiter(store)

    results = [refused_for(limiter) for _ in range(4)]
    frozen.advance(45)
    later = refused_for(limiter)
    frozen.advance(15)

    assert results == [None, None, None, 60]
    assert later == 15
    assert refused_for(limiter) is None


def test_window_slides_instead_of_resetting(store, frozen):
    """Attempts leave the window one by one: no burst of twice the limit at a boundary."""
    limiter = RateLimiter(store)
    refused_for(limiter)
    frozen.advance(40)
    refused_for(limiter)
    refused_for(limiter)

    frozen.advance(21)  # the first attempt is now older than the window
    assert refused_for(limiter) is None
    assert refused_for(limiter) == 39


def test_refused_attempts_are_not_counted(store, frozen):
    """A flood of refused attempts does not push the end of the ban back."""
    limiter = RateLimiter(store)
    for _ in range(3):
        refused_for(limiter)

    waits = [refused_for(limiter) for _ in range(50)]
    frozen.advance(60)

    assert set(waits) == {60}
    assert refused_for(limiter) is None


def test_check_and_add_count_only_failures(store, frozen):
    """``check`` counts nothing; ``add`` counts without refusing."""
    limiter = RateLimiter(store)
    for _ in range(10):
        limiter.check((LIMIT, "k"))
    for _ in range(3):
        limiter.add((LIMIT, "k"))

    with pytest.raises(RateLimited):
        limiter.check((LIMIT, "k"))


def test_keys_are_limited_separately(store, frozen):
    """Another key (another address, account…) has its own budget."""
    limiter = RateLimiter(store)
    for _ in range(3):
        refused_for(limiter, "a")

    assert refused_for(limiter, "a") == 60
    assert refused_for(limiter, "b") is None


def test_any_full_limit_refuses_and_counts_nothing(store, frozen):
    """A hit on several limits is refused when one is full, and then counts in none."""
    limiter = RateLimiter(store)
    wide = Limit("wide", 100, 60)
    for _ in range(3):
        limiter.hit((LIMIT, "k"), (wide, "w"))

    with pytest.raises(RateLimited):
        limiter.hit((LIMIT, "k"), (wide, "w"))
    for _ in range(97):
        limiter.hit((wide, "w"))
    with pytest.raises(RateLimited):
        limiter.hit((wide, "w"))


def test_processes_share_counters_through_redis(redis_server, frozen):
    """Two limiters on one Redis (two web processes) share the same budget."""
    prefix = f"rl-{uuid.uuid4().hex}"
    first = RateLimiter(RedisStore(redis_server.url, prefix))
    second = RateLimiter(RedisStore(redis_server.url, prefix))

    results = [refused_for(limiter) for limiter in (first, second, first, second)]

    assert results == [None, None, None, 60]


def test_unreachable_redis_falls_back_to_process_counters(frozen):
    """With Redis down the limits still hold in the process."""
    limiter = RateLimiter(RedisStore(f"redis://127.0.0.1:{free_port()}/0", "rl"))

    assert [refused_for(limiter) for _ in range(4)] == [None, None, None, 60]


def test_overrides_replace_a_limit_by_name(frozen):
    """``CATALOGUE_RATELIMITS`` can tighten or loosen a limit by its name."""
    limiter = RateLimiter(MemoryStore(), {"test": (1, 10)})

    assert [refused_for(limiter) for _ in range(2)] == [None, 10]


@pytest.fixture(params=["memory", "redis"])
def web(request, make_app):
    """A factory of apps ("web processes") sharing the database, and Redis for ``redis``."""
    if request.param == "memory":
        return lambda **config: make_app(**config)
    server = request.getfixturevalue("redis_server")
    prefix = f"rl-{uuid.uuid4().hex}"
    return lambda **config: make_app(
        REDIS_URL=server.url,
        CATALOGUE_QUEUE_MODE="manual",
        CATALOGUE_RATELIMIT_PREFIX=prefix,
        **config,
    )


def test_logins_from_one_address_get_429(web):
    """Past the per-address login limit, even a right password gets 429 with Retry-After."""
    app = web(CATALOGUE_RATELIMITS={"login-ip": (3, 300)})
    account = create_account(app)
    client = anonymous_client(app)

    statuses = [
        client.post(
            "/api/session", json={"email": account.email, "password": "Mauvais-Mot-2-Passe"}
        ).status_code
        for _ in range(3)
    ]
    right = client.post(
        "/api/session", json={"email": account.email, "password": "Lune-Boreale-Quai-42"}
    )
    elsewhere = anonymous_client(app)
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"

    assert statuses == [401] * 3
    assert right.status_code == 429
    assert right.mimetype == "application/problem+json"
    assert 1 <= int(right.headers["Retry-After"]) <= 300
    assert (
        elsewhere.post(
            "/api/session", json={"email": account.email, "password": "Lune-Boreale-Quai-42"}
        ).status_code
        == 200
    )


def test_failed_logins_for_one_email_get_429_from_any_address(web):
    """Failures on one email block further tries on it, whatever the address."""
    app = web(CATALOGUE_RATELIMITS={"login-email": (3, 900)})  # 10 by default; Argon2 is slow
    email = create_account(app).email
    statuses = []
    for attempt in range(4):
        client = anonymous_client(app)
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{attempt}"
        statuses.append(
            client.post(
                "/api/session", json={"email": email, "password": "Mauvais-Mot-2-Passe"}
            ).status_code
        )

    assert statuses == [401] * 3 + [429]


def test_scripted_linking_guesses_never_succeed(web):
    """Wrong linking codes over two web processes: 0 successes, 5 tries at most, then 429s."""
    first, second = web(), web()
    organisation_id, contact_id = make_profile(first)
    with first.app_context():
        credential, _ = issue(contact_id=contact_id, organisation_id=organisation_id)
        db.session.commit()
        identifier = credential.identifier
    attacker = login_client(first)
    token = attacker.get_cookie("catalogue_session").value
    clients = [attacker, second.test_client()]
    clients[1].set_cookie("catalogue_session", token)
    clients[1].environ_base.update(attacker.environ_base)

    statuses = []
    for guess in range(300):
        client = clients[guess % 2]
        target = identifier if guess % 3 else f"L-{secrets.token_hex(2).upper()}-ZZZZ"
        answer = client.post(
            "/api/links", json={"identifier": target, "code": secrets.token_hex(5).upper()}
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
        if answer.status_code == 401:  # the session id rotates only on success
            pytest.fail("session lost")

    assert 201 not in statuses
    assert statuses.count(429) >= 280
    with first.app_context():
        tries = db.session.scalar(
            select(LinkingCredential.failed_attempts).where(
                LinkingCredential.identifier == identifier
            )
        )
    assert tries <= 5
    if first.config["CATALOGUE_SETTINGS"].redis_url:
        assert len([s for s in statuses if s != 429]) <= 10  # link-account: 10 failures


def test_linking_from_one_address_is_limited_across_accounts(make_app):
    """Several accounts from one address share the per-address linking limit (20 a minute)."""
    app = make_app()
    clients = [login_client(app) for _ in range(3)]

    statuses = [
        clients[i % 3]
        .post("/api/links", json={"identifier": f"L-AAAA-{i:04d}", "code": "X"})
        .status_code
        for i in range(21)
    ]

    assert statuses == [400] * 20 + [429]
