"""Sign-up, the emailed one-time code, resend, and answers that do not reveal registered emails."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from catalogue_svc.accounts import service
from catalogue_svc.accounts.models import Account, OneTimeCode
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import (
    anonymous_client,
    code_from_mail,
    create_account,
    login_client,
    new_email,
)
from tests.servers import body

PASSWORD = "Lune-Boreale-Quai-42"
# Every refused code reads the same, whatever the reason (security round 2, hole 3).
REFUSED = (
    "Code invalide ou expiré. Inscrivez le dernier code reçu par courriel; après 5 essais, ou "
    "passé son délai, demandez un nouveau code."
)


def sign_up_body(email: str, **overrides: object) -> dict[str, object]:
    """A valid sign-up body."""
    data: dict[str, object] = {
        "email": email,
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        "first_name": "Camille",
        "last_name": "Tremblay",
        "terms_accepted": True,
    }
    data.update(overrides)
    return data


def signed_up(app, mailbox, run_jobs, **overrides: object) -> tuple[object, str, str]:
    """An anonymous client that signed up; returns it, the address and the emailed code."""
    client = anonymous_client(app)
    email = new_email()
    answer = client.post("/api/accounts", json=sign_up_body(email, **overrides))
    assert answer.status_code == 201, answer.json
    run_jobs()
    return client, email, code_from_mail(mailbox, email)


def test_sign_up_emails_a_code_that_confirms_the_account(app, mailbox, run_jobs):
    """The emailed code confirms the account, which may then log in."""
    client, email, code = signed_up(app, mailbox, run_jobs)
    assert (
        client.post("/api/session", json={"email": email, "password": PASSWORD}).status_code == 401
    )

    answer = client.post("/api/accounts/verify", json={"email": email, "code": code})

    assert answer.status_code == 200, answer.json
    assert (
        client.post("/api/session", json={"email": email, "password": PASSWORD}).status_code == 200
    )


def test_email_is_unique_whatever_its_case(app, mailbox, run_jobs):
    """The address is stored lower-case, and a mixed-case sign-up finds the same account."""
    client = anonymous_client(app)
    client.post("/api/accounts", json=sign_up_body("Marie.Roy@Exemple.TEST"))
    client.post("/api/accounts", json=sign_up_body("marie.roy@exemple.test"))

    emails = db.session.scalars(select(Account.email)).all()

    assert emails == ["marie.roy@exemple.test"]


def test_sign_up_reports_every_field_problem_at_once(app):
    """Every invalid field is reported in one 422, in French."""
    client = anonymous_client(app)
    answer = client.post(
        "/api/accounts",
        json={
            "email": "pas-une-adresse",
            "password": "court",
            "password_confirmation": "autre",
            "first_name": "   ",
            "terms_accepted": False,
            "role": "agent",
        },
    )

    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    errors = answer.json["errors"]
    assert set(errors) == {
        "email",
        "password",
        "password_confirmation",
        "first_name",
        "last_name",
        "terms_accepted",
        "role",
    }
    assert errors["email"] == ["Adresse courriel invalide."]
    assert errors["last_name"] == ["Ce champ est obligatoire."]
    assert errors["password_confirmation"] == ["La confirmation ne correspond pas au mot de passe."]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!xyz", "au moins 8 caractères"),
        ("x" * 129, "au plus 128 caractères"),
        ("password123", "trop courant"),
        ("Soleil2024!", "trop courant"),
        ("AZERTYUIOP", "trop courant"),
        ("camille.tremblay-vacances", "ne doit pas contenir votre adresse courriel"),
    ],
    ids=["too-short", "too-long", "common", "common-with-suffix", "common-any-case", "email"],
)
def test_weak_password_is_refused(app, password, message):
    """Short, overlong, common and email-derived passwords are refused with a French reason."""
    client = anonymous_client(app)
    answer = client.post(
        "/api/accounts",
        json=sign_up_body(
            "camille.tremblay@exemple.test", password=password, password_confirmation=password
        ),
    )

    assert answer.status_code == 422
    assert any(message in m for m in answer.json["errors"]["password"])


def test_long_password_is_not_truncated(app, mailbox, run_jobs):
    """A 100-character password works whole, and its 99-character prefix does not."""
    password = "Phrase de passe très longue, avec des accents — ça marche! " + "z" * 41
    client, email, code = signed_up(
        app, mailbox, run_jobs, password=password, password_confirmation=password
    )
    client.post("/api/accounts/verify", json={"email": email, "code": code})

    prefix = client.post("/api/session", json={"email": email, "password": password[:-1]})
    whole = client.post("/api/session", json={"email": email, "password": password})

    assert (prefix.status_code, whole.status_code) == (401, 200)


@pytest.mark.production_hashing
def test_password_is_stored_as_argon2id(app, mailbox, run_jobs):
    """The stored hash is Argon2id with at least argon2-cffi's default cost."""
    _, email, _ = signed_up(app, mailbox, run_jobs)
    stored = db.session.scalar(select(Account.password_hash).where(Account.email == email))

    params = stored.split("$")
    assert params[1] == "argon2id"
    costs = dict(p.split("=") for p in params[3].split(","))
    assert int(costs["m"]) >= 65536 and int(costs["t"]) >= 3


@pytest.mark.production_hashing
def test_login_rehashes_a_weaker_hash(app):
    """A hash made with weaker parameters is replaced at the next login."""
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    account = create_account(app)
    db.session.execute(update(Account).where(Account.id == account.id).values(password_hash=weak))
    db.session.commit()

    answer = anonymous_client(app).post(
        "/api/session", json={"email": account.email, "password": PASSWORD}
    )

    assert answer.status_code == 200
    stored = db.session.scalar(select(Account.password_hash).where(Account.id == account.id))
    assert stored != weak and "m=65536,t=3" in stored


def test_registered_email_gets_a_warning_instead_of_a_code(app, mailbox, run_jobs):
    """Signing up with a registered address emails its owner a warning and no code."""
    owner = create_account(app, first_name="Aline")
    anonymous_client(app).post("/api/accounts", json=sign_up_body(owner.email))
    run_jobs()

    [message] = mailbox.to(owner.email)
    assert message["Subject"] == "Tentative de création de compte avec votre adresse"
    assert "Bonjour Aline" in body(message)
    assert db.session.scalar(select(OneTimeCode).where(OneTimeCode.account_id == owner.id)) is None


@pytest.mark.parametrize("language", ["fr", "en"])
def test_code_email_is_in_the_account_language(app, mailbox, run_jobs, language):
    """The verification email is written in the language chosen at sign-up."""
    _, email, code = signed_up(app, mailbox, run_jobs, language=language)

    subject = mailbox.to(email)[-1]["Subject"]

    assert subject == {"fr": "Votre code de vérification", "en": "Your verification code"}[language]
    assert code not in subject


def _answer(response) -> tuple[int, object, list[tuple[str, str]]]:
    return response.status_code, response.json, sorted(response.headers.items())


def _probe(app, kind: str, email: str):
    client = anonymous_client(app)
    headers = {"X-Request-Id": "probe"}
    if kind == "sign-up":
        return client.post("/api/accounts", json=sign_up_body(email), headers=headers)
    if kind == "resend":
        return client.post("/api/accounts/verify/resend", json={"email": email}, headers=headers)
    return client.post(
        "/api/session", json={"email": email, "password": "Mauvais-Mot-2-Passe"}, headers=headers
    )


@pytest.mark.parametrize("kind", ["sign-up", "resend", "login"])
def test_answers_do_not_reveal_whether_an_email_is_registered(app, mailbox, run_jobs, kind):
    """Registered (confirmed or not) and unknown addresses get identical status, body, headers."""
    confirmed = create_account(app).email
    _, pending, _ = signed_up(app, mailbox, run_jobs)
    clock.advance(61)  # past the resend cool-down of the pending account

    answers = [_answer(_probe(app, kind, email)) for email in (new_email(), confirmed, pending)]

    assert answers[0][0] in (201, 202, 401)
    assert answers[1] == answers[0]
    assert answers[2] == answers[0]


def test_sign_up_hashes_a_password_for_a_registered_email_too(app, monkeypatch):
    """Both sign-up branches spend one Argon2 hash, so timing does not tell them apart."""
    calls = []
    real = service.hash_password
    monkeypatch.setattr(service, "hash_password", lambda p: calls.append(1) or real(p))
    registered = create_account(app).email
    client = anonymous_client(app)

    client.post("/api/accounts", json=sign_up_body(registered))
    client.post("/api/accounts", json=sign_up_body(new_email()))

    assert len(calls) == 2


def test_code_is_single_use(app, mailbox, run_jobs):
    """A code that confirmed the account cannot be used again."""
    client, email, code = signed_up(app, mailbox, run_jobs)
    client.post("/api/accounts/verify", json={"email": email, "code": code})

    again = client.post("/api/accounts/verify", json={"email": email, "code": code})

    assert again.status_code == 400
    assert again.json["detail"] == REFUSED


def test_expired_code_is_refused(app, mailbox, run_jobs):
    """A code older than 10 minutes is refused, with the answer of any refused code."""
    client, email, code = signed_up(app, mailbox, run_jobs)
    clock.advance(10 * 60 + 1)

    answer = client.post("/api/accounts/verify", json={"email": email, "code": code})

    assert answer.status_code == 400
    assert answer.json["detail"] == REFUSED


def test_fifth_wrong_code_voids_the_code(app, mailbox, run_jobs):
    """Five wrong tries void the code: the right one is then refused, with the same answer."""
    client, email, code = signed_up(app, mailbox, run_jobs)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    details = [
        client.post("/api/accounts/verify", json={"email": email, "code": wrong}).json["detail"]
        for _ in range(5)
    ]
    right = client.post("/api/accounts/verify", json={"email": email, "code": code})

    assert details == [REFUSED] * 5
    assert right.status_code == 400 and right.json["detail"] == REFUSED
    assert db.session.scalar(select(Account.verified_at).where(Account.email == email)) is None


def test_repeated_wrong_codes_end_in_429(app, mailbox, run_jobs):
    """After 10 wrong codes for an address, tries are refused with 429 and Retry-After."""
    client, email, _ = signed_up(app, mailbox, run_jobs)
    statuses = [
        client.post("/api/accounts/verify", json={"email": email, "code": "000000"}).status_code
        for _ in range(11)
    ]

    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429
    last = client.post("/api/accounts/verify", json={"email": email, "code": "000000"})
    assert 1 <= int(last.headers["Retry-After"]) <= 900


def test_resend_waits_for_the_cooldown_then_replaces_the_code(app, mailbox, run_jobs):
    """A resend within a minute sends nothing; after it, a new code voids the old one."""
    client, email, first = signed_up(app, mailbox, run_jobs)

    early = client.post("/api/accounts/verify/resend", json={"email": email})
    run_jobs()
    assert early.status_code == 202 and len(mailbox.to(email)) == 1
    clock.advance(61)
    client.post("/api/accounts/verify/resend", json={"email": email})
    run_jobs()
    second = code_from_mail(mailbox, email)

    assert len(mailbox.to(email)) == 2
    states = db.session.scalars(select(OneTimeCode.state).order_by(OneTimeCode.id)).all()
    assert states == ["void", "active"]
    if second != first:  # one chance in a million that the new code is the same number
        old = client.post("/api/accounts/verify", json={"email": email, "code": first})
        assert old.status_code == 400
    new = client.post("/api/accounts/verify", json={"email": email, "code": second})
    assert new.status_code == 200


def test_daily_email_cap_drops_extra_emails_silently(make_app, mailbox):
    """Past the day's cap of emails to an address, resends still answer 202 but send nothing."""
    app = make_app(CATALOGUE_RATELIMITS={"email-day": (2, 86400)})
    client = anonymous_client(app)
    email = new_email()
    client.post("/api/accounts", json=sign_up_body(email))
    statuses = []
    for _ in range(3):
        clock.advance(61)
        statuses.append(
            client.post("/api/accounts/verify/resend", json={"email": email}).status_code
        )
    with app.app_context():
        from catalogue_svc.queue import run_until_idle

        run_until_idle()

    assert statuses == [202, 202, 202]
    assert len(mailbox.to(email)) == 2


def test_resend_is_rate_limited_per_address(app):
    """A fourth resend for one address within 15 minutes gets 429 with Retry-After."""
    client = anonymous_client(app)
    email = new_email()

    statuses = [
        client.post("/api/accounts/verify/resend", json={"email": email}).status_code
        for _ in range(4)
    ]

    assert statuses == [202, 202, 202, 429]


def test_latest_pending_sign_up_wins(app, mailbox, run_jobs):
    """A browser that signs up again before confirming gets its latest password confirmed."""
    client = anonymous_client(app)
    email = new_email()
    client.post(
        "/api/accounts",
        json=sign_up_body(
            email,
            password="Premier-Essai-Squatteur",
            password_confirmation="Premier-Essai-Squatteur",
        ),
    )
    client.post("/api/accounts", json=sign_up_body(email))
    run_jobs()
    client.post(
        "/api/accounts/verify", json={"email": email, "code": code_from_mail(mailbox, email)}
    )

    squatter = client.post(
        "/api/session", json={"email": email, "password": "Premier-Essai-Squatteur"}
    )
    owner = client.post("/api/session", json={"email": email, "password": PASSWORD})

    assert (squatter.status_code, owner.status_code) == (401, 200)


def test_agent_role_cannot_be_chosen_at_sign_up(app):
    """The role is a server field: sending it is refused (422) and nothing is created."""
    client = anonymous_client(app)

    answer = client.post("/api/accounts", json=sign_up_body(new_email(), role="agent"))

    assert answer.status_code == 422 and "role" in answer.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_test_helper_client_is_logged_in_with_csrf(app):
    """``login_client`` gives a logged-in client whose state-changing calls pass the CSRF check."""
    client = login_client(app, role="agent")

    who = client.get("/api/session").json

    assert who["authenticated"] and who["account"]["role"] == "agent"
    assert client.delete("/api/session").status_code == 204
