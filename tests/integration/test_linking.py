"""Linking an account to a profile: linking codes, legacy credentials, and the profile list."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import func, select, update

from catalogue_svc.accounts.models import AccountLink
from catalogue_svc.audit import AuditEvent
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.linking.models import LegacyCredential, LinkingCredential
from catalogue_svc.linking.service import issue
from catalogue_svc.notifications.service import queue_email
from catalogue_svc.passwords import hash_password
from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
from tests.accounts_helpers import (
    CSRF_ENVIRON,
    anonymous_client,
    code_from_mail,
    login_client,
    make_profile,
    new_email,
)
from tests.conftest import BACKEND

PASSWORD = "Lune-Boreale-Quai-42"
LINKING_LIMITS = ("link-ip", "link-ip-hour", "link-account", "link-identifier", "legacy-username")
UNLIMITED = dict.fromkeys(LINKING_LIMITS, (1_000_000, 60))


def issued(app, organisation_id: int, contact_id: int) -> tuple[str, str]:
    """New linking credentials for the contact, committed; returns (identifier, code)."""
    with app.app_context():
        credential, code = issue(contact_id=contact_id, organisation_id=organisation_id)
        db.session.commit()
        return credential.identifier, code


def link(client, identifier: str, code: str):
    """POST /api/links."""
    return client.post("/api/links", json={"identifier": identifier, "code": code})


def wrong(code: str) -> str:
    """Another code of the same shape."""
    return ("A" if code[0] != "A" else "B") + code[1:]


def test_sign_up_to_listed_profile_through_emails(app, mailbox, run_jobs):
    """Sign up, confirm, log in and link with the emailed linking credentials: the profile is listed."""
    contact_email = new_email("responsable")
    organisation_id, contact_id = make_profile(app, contact_email=contact_email)
    credential, linking_code = issue(contact_id=contact_id, organisation_id=organisation_id)
    organisation = db.session.get(Organisation, organisation_id)
    contact = db.session.get(Contact, contact_id)
    queue_email(
        to=contact_email,
        template="linking_credentials",
        language="fr",
        contact_id=contact_id,
        params={
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "organisation_name": organisation.name,
            "organisation_client_number": organisation.client_number,
            "identifier": credential.identifier,
            "code": linking_code,
            "expires_on": credential.expires_at.date().isoformat(),
        },
    )
    db.session.commit()
    run_jobs()
    identifier = code_from_mail(mailbox, contact_email, pattern=r"(L-[A-Z0-9]{4}-[A-Z0-9]{4})")
    code = code_from_mail(mailbox, contact_email, pattern=r"Code de liaison : ([A-Z0-9]{10})")

    client = anonymous_client(app)
    assert (
        client.post(
            "/api/accounts",
            json={
                "email": contact_email,
                "password": PASSWORD,
                "password_confirmation": PASSWORD,
                "first_name": "Dominique",
                "last_name": "Gagnon",
                "terms_accepted": True,
            },
        ).status_code
        == 201
    )
    run_jobs()
    verification = code_from_mail(mailbox, contact_email)
    assert (
        client.post(
            "/api/accounts/verify", json={"email": contact_email, "code": verification}
        ).status_code
        == 200
    )
    login = client.post("/api/session", json={"email": contact_email, "password": PASSWORD})
    client.environ_base[CSRF_ENVIRON] = login.json["csrf_token"]
    linked = link(client, identifier, code)
    profiles = client.get("/api/profiles")

    assert linked.status_code == 201, linked.json
    expected = {
        "profile_id": organisation_id,
        "organisation_id": organisation_id,
        "name": "LAFORCE COMPTABLE INC",
        "client_number": organisation.client_number,
        "kind": "accounting_firm",
        "contact_id": contact_id,
        "relation_types": ["responsable"],
        "relation_labels": ["Responsable"],
        "can_manage_authorizations": True,
    }
    assert {k: linked.json[k] for k in expected} == expected
    assert profiles.json["total"] == 1
    assert profiles.json["items"] == [linked.json]
    assert client.get("/api/session").json["linked_profiles"] == 1


@pytest.mark.parametrize(
    ("relation", "can_manage"),
    [
        ("responsable", True),
        ("administrateur_dossier", True),
        ("dirigeant", True),
        ("membre_personnel", False),
        ("individu_autorise", False),
    ],
)
def test_profile_says_what_the_person_may_do(app, relation, can_manage):
    """Only Responsable, Administrateur du dossier and Dirigeant may manage authorizations."""
    organisation_id, contact_id = make_profile(app, relation=relation)
    client = login_client(app)

    profile = link(client, *issued(app, organisation_id, contact_id)).json

    assert profile["relation_types"] == [relation]
    assert profile["can_manage_authorizations"] is can_manage


def test_linking_needs_a_logged_in_account(app):
    """An anonymous caller gets 401 before its credentials are even looked at."""
    organisation_id, contact_id = make_profile(app)

    answer = link(anonymous_client(app), *issued(app, organisation_id, contact_id))

    assert answer.status_code == 401


def test_linking_twice_is_harmless(app):
    """The same account presenting its used credentials again gets the same profile, one link."""
    organisation_id, contact_id = make_profile(app)
    client = login_client(app)
    credentials = issued(app, organisation_id, contact_id)

    first, again = link(client, *credentials), link(client, *credentials)
    reissued = link(client, *issued(app, organisation_id, contact_id))

    assert first.status_code == again.status_code == reissued.status_code == 201
    assert first.json == again.json == reissued.json
    assert db.session.scalar(select(func.count()).select_from(AccountLink)) == 1


def test_used_credentials_are_refused_to_another_account(app):
    """Credentials another account already used give 409 with a clear message."""
    organisation_id, contact_id = make_profile(app)
    credentials = issued(app, organisation_id, contact_id)
    link(login_client(app), *credentials)

    answer = link(login_client(app), *credentials)

    assert answer.status_code == 409
    assert "déjà lié à un autre compte" in answer.json["detail"]


def test_contact_linked_to_another_account_is_refused(app):
    """Fresh credentials of a contact already linked elsewhere give 409 and stay usable."""
    organisation_id, contact_id = make_profile(app)
    link(login_client(app), *issued(app, organisation_id, contact_id))
    credentials = issued(app, organisation_id, contact_id)

    answer = link(login_client(app), *credentials)

    assert answer.status_code == 409
    state = db.session.scalar(
        select(LinkingCredential.state).where(LinkingCredential.identifier == credentials[0])
    )
    assert state == "active"


def test_expired_credentials_are_refused(app):
    """Credentials past their validity give 400 saying they expired."""
    organisation_id, contact_id = make_profile(app)
    credentials = issued(app, organisation_id, contact_id)
    clock.advance(61 * 86400)

    answer = link(login_client(app), *credentials)

    assert answer.status_code == 400
    assert "expiré" in answer.json["detail"]


def test_reissue_voids_the_previous_credentials(app):
    """After a reissue the old credentials are refused and the new ones work."""
    organisation_id, contact_id = make_profile(app)
    old = issued(app, organisation_id, contact_id)
    new = issued(app, organisation_id, contact_id)
    client = login_client(app)

    refused, accepted = link(client, *old), link(client, *new)

    assert refused.status_code == 400 and "remplacées" in refused.json["detail"]
    assert accepted.status_code == 201


def test_fifth_wrong_code_locks_the_credentials_until_reissued(make_app):
    """Five wrong codes lock the credentials even against the right code, until reissued."""
    app = make_app(CATALOGUE_RATELIMITS=UNLIMITED)  # the database lock alone, no 429 first
    organisation_id, contact_id = make_profile(app)
    identifier, code = issued(app, organisation_id, contact_id)
    client = login_client(app)

    details = [link(client, identifier, wrong(code)).json["detail"] for _ in range(5)]
    right = link(client, identifier, code)
    reissued = link(client, *issued(app, organisation_id, contact_id))

    assert all("invalide" in d for d in details[:4])
    assert "verrouillées" in details[4]
    assert right.status_code == 400 and "verrouillées" in right.json["detail"]
    assert reissued.status_code == 201


def test_unknown_identifier_is_refused_like_a_wrong_code(app):
    """An unknown identifier and a wrong code get the same answer."""
    organisation_id, contact_id = make_profile(app)
    identifier, code = issued(app, organisation_id, contact_id)
    client = login_client(app)

    unknown = link(client, "L-ZZZZ-ZZZZ", code)
    mistaken = link(client, identifier, wrong(code))

    assert (unknown.status_code, unknown.json) == (mistaken.status_code, mistaken.json)


def test_linking_gives_the_session_a_new_id(app):
    """Linking rotates the session id; the old cookie ends, the CSRF token carries over."""
    organisation_id, contact_id = make_profile(app)
    client = login_client(app)
    before = client.get_cookie("catalogue_session").value

    assert link(client, *issued(app, organisation_id, contact_id)).status_code == 201

    after = client.get_cookie("catalogue_session").value
    assert after != before
    old = app.test_client()
    old.set_cookie("catalogue_session", before)
    assert old.get("/api/profiles").status_code == 401
    assert (
        client.post("/api/links", json={"identifier": "L-ZZZZ-ZZZZ", "code": "X"}).status_code
        == 400
    )


def test_profiles_only_list_active_relations(app):
    """A profile disappears as soon as the contact's relation is no longer active."""
    organisation_id, contact_id = make_profile(app)
    client = login_client(app)
    link(client, *issued(app, organisation_id, contact_id))

    db.session.execute(
        update(ContactRelation).where(ContactRelation.contact_id == contact_id).values(active=False)
    )
    db.session.commit()

    assert client.get("/api/profiles").json == {"items": [], "page": 1, "per_page": 50, "total": 0}


def test_profiles_are_paginated(app):
    """The profile list follows ?page and ?per_page, and refuses huge pages."""
    client = login_client(app)
    for name in ("B INC", "A INC", "C INC"):
        organisation_id, contact_id = make_profile(app, organisation_name=name)
        link(client, *issued(app, organisation_id, contact_id))

    page = client.get("/api/profiles?page=2&per_page=2").json

    assert [p["name"] for p in page["items"]] == ["C INC"]
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert client.get("/api/profiles?per_page=1000").status_code == 422


def make_legacy(app) -> int:
    """A legacy credential ``ancien.user`` for a member of an employer; the organisation id."""
    organisation_id, contact_id = make_profile(
        app, relation="membre_personnel", organisation_name="ENTREPRISE SHAW INC.", kind="employer"
    )
    db.session.add(
        LegacyCredential(
            username="ancien.user",
            password_hash=hash_password("vieux-mdp-2019"),
            contact_id=contact_id,
            organisation_id=organisation_id,
        )
    )
    db.session.commit()
    return organisation_id


@pytest.fixture()
def legacy(app) -> int:
    """The organisation of a legacy credential ``ancien.user``."""
    return make_legacy(app)


def legacy_link(client, username: str = "ancien.user", password: str = "vieux-mdp-2019"):
    """POST /api/links/legacy."""
    return client.post("/api/links/legacy", json={"username": username, "password": password})


def test_legacy_credentials_link_the_profile(app, legacy):
    """The old site's username and password link the contact's dossier of the employer."""
    client = login_client(app)

    answer = legacy_link(client)

    assert answer.status_code == 201
    assert answer.json["profile_id"] == legacy and answer.json["kind"] == "employer"
    assert client.get("/api/profiles").json["total"] == 1
    assert db.session.scalar(select(AccountLink.method)) == "legacy"


def test_legacy_unknown_username_and_wrong_password_look_alike(app, legacy):
    """An unknown username and a wrong password get identical answers."""
    client = login_client(app)
    headers = {"X-Request-Id": "probe"}

    unknown = client.post(
        "/api/links/legacy",
        headers=headers,
        json={"username": "personne", "password": "vieux-mdp-2019"},
    )
    mistaken = client.post(
        "/api/links/legacy",
        headers=headers,
        json={"username": "ancien.user", "password": "mauvais"},
    )

    assert unknown.status_code == 400
    assert (unknown.status_code, unknown.json, sorted(unknown.headers.items())) == (
        mistaken.status_code,
        mistaken.json,
        sorted(mistaken.headers.items()),
    )


def test_legacy_credentials_lock_after_five_wrong_passwords(make_app):
    """Five wrong passwords lock the legacy credentials, even against the right password."""
    app = make_app(CATALOGUE_RATELIMITS=UNLIMITED)  # the database lock alone, no 429 first
    with app.app_context():
        make_legacy(app)
    client = login_client(app)

    for _ in range(5):
        legacy_link(client, password="mauvais")
    answer = legacy_link(client)

    assert answer.status_code == 400 and "verrouillés" in answer.json["detail"]


def test_linking_attempts_are_audited(app, legacy):
    """Every attempt leaves an audit row with its outcome and reason."""
    organisation_id, contact_id = make_profile(app)
    identifier, code = issued(app, organisation_id, contact_id)
    client = login_client(app)
    link(client, identifier, wrong(code))
    link(client, identifier, code)
    legacy_link(client, password="mauvais")

    rows = db.session.execute(
        select(AuditEvent.outcome, AuditEvent.details)
        .where(AuditEvent.action == "linking.redeem")
        .order_by(AuditEvent.id)
    ).all()

    assert [(o, d["method"], d.get("reason")) for o, d in rows] == [
        ("failure", "linking_code", "invalid"),
        ("success", "linking_code", None),
        ("failure", "legacy", "legacy_invalid"),
    ]
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "linking.issue")
        )
        == 1
    )


def race(app, client, delays: tuple[float, float]) -> dict[str, object]:
    """Reissue a contact's credentials while the old ones are being redeemed; what happened."""
    organisation_id, contact_id = make_profile(app)
    identifier, code = issued(app, organisation_id, contact_id)
    start = threading.Barrier(2)
    seen: dict[str, object] = {}

    def reissue() -> None:
        with app.app_context():
            start.wait()
            time.sleep(delays[0])
            issue(contact_id=contact_id, organisation_id=organisation_id)
            db.session.commit()
            seen["reissued"] = time.monotonic()
            db.session.remove()

    def redeem() -> None:
        start.wait()
        time.sleep(delays[1])
        seen["sent"] = time.monotonic()
        seen["status"] = link(client, identifier, code).status_code

    threads = [threading.Thread(target=reissue), threading.Thread(target=redeem)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with app.app_context():
        seen["old"] = db.session.scalar(
            select(LinkingCredential.state).where(LinkingCredential.identifier == identifier)
        )
        seen["active"] = db.session.scalar(
            select(func.count())
            .select_from(LinkingCredential)
            .where(LinkingCredential.contact_id == contact_id, LinkingCredential.state == "active")
        )
        issued_last = db.session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == "linking.issue", AuditEvent.subject_id == str(contact_id))
            .order_by(AuditEvent.id.desc())
        ).first()
        seen["voided"] = issued_last["voided"]
    return seen


def test_reissue_racing_redemption_never_lets_the_old_code_win(make_app):
    """Racing a reissue, the old code never succeeds once the reissue has committed."""
    app = make_app(CATALOGUE_RATELIMITS=UNLIMITED)
    client = login_client(app)
    rng = random.Random(11)
    outcomes = {201: 0, 400: 0}
    for _ in range(150 if BACKEND == "postgresql" else 40):
        # Jitter around the moment both are in flight (a request takes a few milliseconds).
        seen = race(app, client, (rng.random() * 0.010, rng.random() * 0.002))
        outcomes[seen["status"]] += 1
        assert seen["active"] == 1
        if seen["status"] == 201:
            # The redemption committed first: the reissue found nothing active to void.
            assert (seen["old"], seen["voided"]) == ("used", 0)
            assert seen["sent"] < seen["reissued"]
        else:
            assert (seen["status"], seen["old"], seen["voided"]) == (400, "void", 1)
    assert outcomes[201] > 0 and outcomes[400] > 0, outcomes  # both orders really happened
