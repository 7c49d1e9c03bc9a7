"""*Paramètres du compte*: the settings view, names and language, password and email changes,
and unlinking a profile."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlalchemy import select

from catalogue_svc.accounts import codes
from catalogue_svc.accounts.models import Account, AccountLink
from catalogue_svc.audit import AuditEvent
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import (
    CSRF_ENVIRON,
    DEFAULT_PASSWORD,
    anonymous_client,
    code_from_mail,
    create_account,
    link_account,
    login_client,
    make_profile,
    new_email,
    service_log_lines,
    stored_rows,
)
from tests.servers import body

NEW_PASSWORD = "Nouvelle-Phrase-Secrete-77"
COOKIE = "catalogue_session"
# Every refused code reads the same, whatever the reason (security round 2, hole 3).
WRONG_CODE_DETAIL = (
    "Code invalide ou expiré. Inscrivez le dernier code reçu par courriel; après 5 essais, ou "
    "passé son délai, demandez un nouveau code."
)

# Every settings call that needs a login: (method, path, body).
CALLS = [
    ("get", "/api/account", None),
    ("patch", "/api/account", {"language": "en"}),
    (
        "post",
        "/api/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
        },
    ),
    ("post", "/api/account/email", {"current_password": DEFAULT_PASSWORD, "email": "n@ex.test"}),
    ("post", "/api/account/email/confirm", {"code": "123456"}),
    ("delete", "/api/profiles/1/link", None),
]
CALL_IDS = [f"{m}-{p}" for m, p, _ in CALLS]


def call(client, method: str, path: str, json: object):
    """One request, with a JSON body when there is one."""
    return getattr(client, method)(path, **({} if json is None else {"json": json}))


def change_password(client, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD):
    """POST /api/account/password."""
    return client.post(
        "/api/account/password",
        json={"current_password": current, "password": new, "password_confirmation": new},
    )


def request_email_change(client, email: str, current: str = DEFAULT_PASSWORD, **kwargs: object):
    """POST /api/account/email."""
    return client.post(
        "/api/account/email", json={"current_password": current, "email": email}, **kwargs
    )


def email_change_code(
    client, mailbox, run_jobs, email: str, current: str = DEFAULT_PASSWORD
) -> str:
    """Ask to move the account to ``email``; the code that address received."""
    assert request_email_change(client, email, current).status_code == 202
    run_jobs()
    return code_from_mail(mailbox, email)


def log_in(app, email: str, password: str = DEFAULT_PASSWORD) -> int:
    """The status of a login from a new browser."""
    return (
        anonymous_client(app)
        .post("/api/session", json={"email": email, "password": password})
        .status_code
    )


def _answer(response) -> tuple[int, object, list[tuple[str, str]]]:
    return response.status_code, response.json, sorted(response.headers.items())


# ---------------------------------------------------------------- the settings view


def test_settings_show_names_email_language_and_linked_profiles(app):
    """GET /api/account gives the names, email, language, role and the linked profiles."""
    organisation_id, contact_id = make_profile(app, organisation_name="LAFORCE COMPTABLE INC")
    client = login_client(app, first_name="Aline", last_name="Roy")
    link_account(app, client.account.id, contact_id=contact_id, organisation_id=organisation_id)

    settings = client.get("/api/account").json

    assert {k: v for k, v in settings.items() if k != "profiles"} == {
        "id": client.account.id,
        "email": client.account.email,
        "first_name": "Aline",
        "last_name": "Roy",
        "language": "fr",
        "role": "user",
        "pending_email": None,
    }
    [profile] = settings["profiles"]
    assert profile["profile_id"] == organisation_id
    assert profile["name"] == "LAFORCE COMPTABLE INC"
    assert profile["client_number"].startswith("9")
    assert profile["relation_types"] == ["responsable"]


@pytest.mark.parametrize(("method", "path", "json"), CALLS, ids=CALL_IDS)
def test_settings_calls_need_a_login(app, method, path, json):
    """Every settings call answers 401 to an anonymous caller."""
    answer = call(anonymous_client(app), method, path, json)

    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "json"), [c for c in CALLS if c[0] != "get"], ids=CALL_IDS[1:]
)
def test_settings_changes_need_the_csrf_token(app, method, path, json):
    """Every state-changing settings call without the CSRF token is refused with 403."""
    client = login_client(app)
    del client.environ_base[CSRF_ENVIRON]

    answer = call(client, method, path, json)

    assert answer.status_code == 403


@pytest.mark.parametrize(("method", "path", "_json"), CALLS, ids=CALL_IDS)
def test_openapi_documents_every_settings_call(app, method, path, _json):
    """Each settings call is in the OpenAPI document, with a summary."""
    spec = app.test_client().get("/api/openapi.json").json
    templated = path.replace("/1/", "/{profile_id}/")

    operation = spec["paths"][templated][method]

    assert operation["summary"]


@pytest.mark.parametrize(
    "path", ["/api/password-reset", "/api/password-reset/confirm"], ids=["request", "confirm"]
)
def test_openapi_documents_the_reset_calls(app, path):
    """Both *Mot de passe oublié?* calls are in the OpenAPI document."""
    spec = app.test_client().get("/api/openapi.json").json

    assert spec["paths"][path]["post"]["summary"]


# ---------------------------------------------------------------- names and language


def test_patch_changes_names_and_language(app):
    """PATCH changes only the fields sent and answers with the new settings."""
    client = login_client(app, first_name="Aline", last_name="Roy")

    answer = client.patch("/api/account", json={"first_name": " Aline-Marie ", "language": "en"})

    assert answer.status_code == 200
    assert (answer.json["first_name"], answer.json["last_name"], answer.json["language"]) == (
        "Aline-Marie",
        "Roy",
        "en",
    )
    assert client.get("/api/account").json["language"] == "en"


@pytest.mark.parametrize(
    "field", [{"email": "autre@exemple.test"}, {"role": "agent"}], ids=["email", "role"]
)
def test_patch_refuses_fields_it_does_not_own(app, field):
    """The email (changed with a code) and the role are refused with 422, nothing changed."""
    client = login_client(app)

    answer = client.patch("/api/account", json={"first_name": "Autre", **field})

    assert answer.status_code == 422 and set(answer.json["errors"]) == set(field)
    assert client.get("/api/account").json["first_name"] == "Camille"


def test_patch_reports_every_field_problem_at_once(app):
    """Blank names and an unknown language come back together, in French."""
    client = login_client(app)

    answer = client.patch(
        "/api/account", json={"first_name": " ", "last_name": "", "language": "de"}
    )

    assert answer.status_code == 422
    assert answer.json["errors"]["first_name"] == ["Ce champ est obligatoire."]
    assert set(answer.json["errors"]) == {"first_name", "last_name", "language"}


def test_language_change_is_used_by_the_next_email(app, mailbox, run_jobs):
    """After switching to English, the next email (the password-change notice) is in English."""
    client = login_client(app)
    client.patch("/api/account", json={"language": "en"})

    change_password(client)
    run_jobs()

    [notice] = mailbox.to(client.account.email)
    assert notice["Subject"] == "Your password was changed"
    assert body(notice).startswith("Hello Camille")


# ---------------------------------------------------------------- the password


def test_password_change_replaces_the_password(app):
    """After the change the new password logs in and the old one does not."""
    client = login_client(app)

    answer = change_password(client)

    assert answer.status_code == 200, answer.json
    assert log_in(app, client.account.email, NEW_PASSWORD) == 200
    assert log_in(app, client.account.email, DEFAULT_PASSWORD) == 401


def test_password_change_needs_the_current_password(app):
    """A wrong current password is refused with 400 on that field; nothing changes."""
    client = login_client(app)

    answer = change_password(client, current="Pas-Le-Bon-Mot-De-Passe")

    assert answer.status_code == 400
    assert answer.json["errors"] == {"current_password": ["Mot de passe actuel invalide."]}
    assert log_in(app, client.account.email) == 200


@pytest.mark.parametrize("kind", ["password", "email"])
def test_wrong_current_passwords_end_in_429(app, kind):
    """After 5 wrong current passwords (password or email change), tries get 429."""
    client = login_client(app)

    def attempt():
        if kind == "password":
            return change_password(client, current="Pas-Le-Bon-Mot-De-Passe")
        return request_email_change(client, new_email(), current="Pas-Le-Bon-Mot-De-Passe")

    statuses = [attempt().status_code for _ in range(6)]

    assert statuses == [400] * 5 + [429]


def test_password_change_ends_the_other_sessions_and_renews_this_one(app):
    """Another browser gets 401; this browser stays logged in under a new session id."""
    client = login_client(app)
    elsewhere = login_client(app, email=client.account.email)
    before = client.get_cookie(COOKIE).value

    change_password(client)

    assert elsewhere.get("/api/account").status_code == 401
    assert client.get("/api/account").status_code == 200
    assert client.get_cookie(COOKIE).value != before


def test_password_change_emails_a_notice(app, mailbox, run_jobs):
    """The owner receives a notice saying how to react if it was not them."""
    client = login_client(app)

    change_password(client)
    run_jobs()

    [notice] = mailbox.to(client.account.email)
    assert notice["Subject"] == "Votre mot de passe a été modifié"
    assert "soutien" in body(notice) and "Mot de passe oublié?" in body(notice)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!xyz", "au moins 8 caractères"),
        ("Soleil2024!", "trop courant"),
        ("aline.roy.2024-maison", "ne doit pas contenir votre adresse courriel"),
    ],
    ids=["too-short", "common", "email"],
)
def test_new_password_follows_the_policy(app, password, message):
    """The new password follows the sign-up policy, the account's own address included."""
    client = login_client(app, email="aline.roy@exemple.test")

    answer = change_password(client, new=password)

    assert answer.status_code == 422
    assert any(message in m for m in answer.json["errors"]["password"])


# ---------------------------------------------------------------- the email


def test_email_change_is_applied_only_after_confirmation(app, mailbox, run_jobs):
    """Until the code is confirmed, the old address stays the login and the new one fails."""
    client = login_client(app)
    old, new = client.account.email, new_email()

    email_change_code(client, mailbox, run_jobs, new)

    settings = client.get("/api/account").json
    assert (settings["email"], settings["pending_email"]) == (old, new)
    assert (log_in(app, old), log_in(app, new)) == (200, 401)


def test_confirmed_email_becomes_the_login(app, mailbox, run_jobs):
    """Once confirmed, the new address logs in and the old one no longer does."""
    client = login_client(app)
    old, new = client.account.email, new_email()
    code = email_change_code(client, mailbox, run_jobs, new)

    answer = client.post("/api/account/email/confirm", json={"code": code})

    assert answer.status_code == 200, answer.json
    assert client.get("/api/account").json["email"] == new
    assert (log_in(app, old), log_in(app, new)) == (401, 200)


def test_email_change_code_goes_to_the_new_address_only(app, mailbox, run_jobs):
    """The code is emailed to the new address; the current address receives nothing yet."""
    client = login_client(app)
    new = new_email()

    email_change_code(client, mailbox, run_jobs, new)

    [message] = mailbox.to(new)
    assert message["Subject"] == "Confirmez votre nouvelle adresse courriel"
    assert mailbox.to(client.account.email) == []


def test_old_address_is_notified_of_the_change(app, mailbox, run_jobs):
    """The old address receives a notice naming the new one (masked) and how to react."""
    client = login_client(app, first_name="Aline")
    old, new = client.account.email, new_email()
    code = email_change_code(client, mailbox, run_jobs, new)

    client.post("/api/account/email/confirm", json={"code": code})
    run_jobs()

    [notice] = mailbox.to(old)
    text = body(notice)
    assert notice["Subject"] == "L'adresse courriel de votre compte a été modifiée"
    assert "Bonjour Aline" in text and "p***@exemple.test" in text
    assert "soutien" in text and "Mot de passe oublié?" in text


def test_email_change_ends_the_other_sessions(app, mailbox, run_jobs):
    """After the new address is confirmed, another browser gets 401; this one stays."""
    client = login_client(app)
    elsewhere = login_client(app, email=client.account.email)
    code = email_change_code(client, mailbox, run_jobs, new_email())

    client.post("/api/account/email/confirm", json={"code": code})

    assert elsewhere.get("/api/account").status_code == 401
    assert client.get("/api/account").status_code == 200


def test_taken_address_is_refused_without_revealing_it(app, mailbox, run_jobs):
    """A free and a taken address get identical answers; the taken one's owner is warned."""
    owner = create_account(app, first_name="Bruno")
    client = login_client(app)
    headers = {"X-Request-Id": "probe"}

    free = request_email_change(client, new_email(), headers=headers)
    taken = request_email_change(client, owner.email.upper(), headers=headers)
    run_jobs()

    assert free.status_code == 202
    assert _answer(taken) == _answer(free)
    [warning] = mailbox.to(owner.email)
    assert warning["Subject"] == "Tentative d'utilisation de votre adresse courriel"
    assert "Bonjour Bruno" in body(warning)
    assert re.search(r"\b\d{6}\b", body(warning)) is None


def test_taken_address_can_never_be_confirmed(app, monkeypatch):
    """Even the right code (never sent) is refused like a wrong one; nothing changes."""
    monkeypatch.setattr(codes, "numeric_code", lambda digits=6: "424242")
    owner = create_account(app)
    client = login_client(app)
    request_email_change(client, owner.email)

    answer = client.post("/api/account/email/confirm", json={"code": "424242"})

    assert answer.status_code == 400
    assert answer.json["detail"] == WRONG_CODE_DETAIL
    assert db.session.get(Account, client.account.id, populate_existing=True).email == (
        client.account.email
    )


@pytest.mark.parametrize("case", ["wrong", "expired", "reused"])
def test_bad_email_change_code_is_refused(app, mailbox, run_jobs, case):
    """A wrong, expired (10 minutes) or already used code is refused with 400."""
    client = login_client(app)
    code = email_change_code(client, mailbox, run_jobs, new_email())
    if case == "wrong":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif case == "expired":
        clock.advance(dt.timedelta(minutes=10, seconds=1))
    else:
        client.post("/api/account/email/confirm", json={"code": code})

    answer = client.post("/api/account/email/confirm", json={"code": code})

    assert answer.status_code == 400
    assert answer.json["errors"]["code"]


def test_email_change_needs_the_current_password(app, mailbox, run_jobs):
    """A wrong current password is refused with 400 and no code is sent."""
    client = login_client(app)
    new = new_email()

    answer = request_email_change(client, new, current="Pas-Le-Bon-Mot-De-Passe")
    run_jobs()

    assert answer.status_code == 400 and "current_password" in answer.json["errors"]
    assert mailbox.to(new) == []


def test_email_change_to_the_current_address_is_refused(app):
    """Asking for the address the account already has is a 422 on the email field."""
    client = login_client(app)

    answer = request_email_change(client, client.account.email.upper())

    assert answer.status_code == 422
    assert answer.json["errors"] == {"email": ["Cette adresse est déjà celle de votre compte."]}


# ---------------------------------------------------------------- unlinking


def linked_client(app) -> tuple[object, int]:
    """A logged-in account linked as Responsable to a new profile; the client and profile id."""
    organisation_id, contact_id = make_profile(app)
    client = login_client(app)
    link_account(app, client.account.id, contact_id=contact_id, organisation_id=organisation_id)
    return client, organisation_id


def test_unlink_removes_the_profile_and_its_calls(app):
    """After unlinking, the profile leaves the list and its calls answer 404."""
    client, profile_id = linked_client(app)
    assert client.get(f"/api/profiles/{profile_id}/contacts").status_code == 200

    answer = client.delete(f"/api/profiles/{profile_id}/link")

    assert answer.status_code == 204
    assert client.get("/api/profiles").json["total"] == 0
    assert client.get("/api/account").json["profiles"] == []
    assert client.get(f"/api/profiles/{profile_id}/contacts").status_code == 404


def test_unlink_keeps_the_link_history(app):
    """The link row stays, with its unlinking date."""
    client, profile_id = linked_client(app)

    client.delete(f"/api/profiles/{profile_id}/link")

    [link] = db.session.scalars(select(AccountLink).execution_options(populate_existing=True)).all()
    assert link.unlinked_at is not None and link.account_id == client.account.id


@pytest.mark.parametrize("case", ["never-linked", "already-unlinked", "another-account"])
def test_unlink_without_a_link_is_404(app, case):
    """An account without an active link to the profile gets 404."""
    client, profile_id = linked_client(app)
    if case == "never-linked":
        profile_id, _ = make_profile(app)
    elif case == "already-unlinked":
        client.delete(f"/api/profiles/{profile_id}/link")
    else:
        client = login_client(app)

    answer = client.delete(f"/api/profiles/{profile_id}/link")

    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"


# ---------------------------------------------------------------- audit and secrets


def _patch(client, mailbox, run_jobs):
    client.patch("/api/account", json={"last_name": "Roy"})


def _password(client, mailbox, run_jobs):
    change_password(client)


def _wrong_password(client, mailbox, run_jobs):
    change_password(client, current="Pas-Le-Bon-Mot-De-Passe")


def _email(client, mailbox, run_jobs):
    code = email_change_code(client, mailbox, run_jobs, new_email())
    client.post("/api/account/email/confirm", json={"code": code})


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (_patch, [("account.update", "success")]),
        (_password, [("account.password_change", "success")]),
        (_wrong_password, [("account.password_change", "failure")]),
        (
            _email,
            [("account.email_change_request", "success"), ("account.email_change", "success")],
        ),
    ],
    ids=["patch", "password", "wrong-password", "email"],
)
def test_settings_steps_are_audited(app, mailbox, run_jobs, step, expected):
    """Each settings step leaves its audit rows, naming the account."""
    client = login_client(app)

    step(client, mailbox, run_jobs)

    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome, AuditEvent.subject_id)
        .where(AuditEvent.action.in_({a for a, _ in expected}))
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(r) for r in rows] == [(a, o, str(client.account.id)) for a, o in expected]


def test_unlink_is_audited(app):
    """Unlinking leaves an audit row naming the profile."""
    client, profile_id = linked_client(app)

    client.delete(f"/api/profiles/{profile_id}/link")

    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.unlink"))
    assert (row.outcome, row.subject_id, row.actor_account_id) == (
        "success",
        str(profile_id),
        client.account.id,
    )


def test_no_secret_of_settings_changes_reaches_logs_or_tables(app, mailbox, run_jobs, caplog):
    """Password and email changes at DEBUG: no password, code or token is logged or stored."""
    caplog.set_level(logging.DEBUG)
    client = login_client(app)
    secrets = {DEFAULT_PASSWORD, NEW_PASSWORD, "Pas-Le-Bon-Mot-De-Passe"}
    secrets.add(client.get_cookie(COOKIE).value)
    change_password(client, current="Pas-Le-Bon-Mot-De-Passe")
    change_password(client)
    secrets.add(client.get_cookie(COOKIE).value)
    code = email_change_code(client, mailbox, run_jobs, new_email(), NEW_PASSWORD)
    secrets.add(code)
    request_email_change(client, new_email(), current=NEW_PASSWORD)
    client.post("/api/account/email/confirm", json={"code": f"{(int(code) + 1) % 10**6:06d}"})
    run_jobs()

    lines = service_log_lines(caplog)
    assert any('"action": "account.password_change"' in line for line in lines)
    assert [(s, line) for line in lines for s in secrets if s in line] == []
    stored = stored_rows()
    assert [(s, name) for name, text in stored for s in secrets if s in text] == []
