"""Account settings: *Mot de passe oublié?*, password and email changes, names and language,
and unlinking a profile (*Paramètres du compte*).

Each function owns its transaction and audits its outcome (ids and reasons only: never a code,
a password or a session token). Codes are :mod:`.codes` (hashed, single use, 5 tries), with
the purposes below. Nothing here reveals whether an email belongs to an account:

* a reset request writes the same rows whatever the email (an audit row and an outbox row) and
  the code is made and emailed by a background job, so neither the answer nor its timing differs;
* an email change to an address another account uses still issues a code (never sent to anyone)
  and answers the same; its owner is warned instead, and the confirmation can never succeed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, queue
from ..clock import now
from ..db import compare_and_set, db
from ..errors import DomainError, NotFound, RateLimited, ValidationFailed
from ..passwords import hash_password, verify_password
from ..ratelimit import Check, limiter
from . import codes, limits, sessions
from .links import linked_profiles
from .models import Account, AccountLink, OneTimeCode
from .policy import normalise_email
from .service import find_by_email, mail_account

RESET_PURPOSE = "password_reset"
EMAIL_PURPOSE = "change_email"
RESET_VALIDITY = dt.timedelta(minutes=30)
RESET_TOPIC = "accounts.password_reset"

RESET_REQUESTED = (
    "Si un compte confirmé existe pour cette adresse, un code pour réinitialiser le mot de passe "
    "vient d'y être envoyé (valide 30 minutes)."
)
RESET_DONE = (
    "Votre mot de passe a été réinitialisé et toutes vos sessions ont pris fin. Connectez-vous "
    "avec votre nouveau mot de passe."
)
CHANGE_DONE = "Votre mot de passe a été modifié. Vos autres sessions ont pris fin."
EMAIL_CHANGE_REQUESTED = (
    "Si cette adresse peut être utilisée, un code de confirmation vient d'y être envoyé (valide "
    "10 minutes). L'adresse de votre compte ne changera qu'une fois ce code inscrit."
)
EMAIL_CHANGED = (
    "Votre adresse courriel a été modifiée. Utilisez-la désormais pour vous connecter; "
    "vos autres sessions ont pris fin."
)
WRONG_CURRENT = "Mot de passe actuel invalide."
SAME_EMAIL = "Cette adresse est déjà celle de votre compte."
NOT_LINKED = "Votre compte n'est pas lié à ce profil."


class WrongCurrentPassword(DomainError):
    """The current password given to confirm a change is wrong (400)."""

    status, slug = 400, "wrong-password"

    def __init__(self) -> None:
        super().__init__(WRONG_CURRENT, errors={"current_password": [WRONG_CURRENT]})


def _record(action: str, outcome: str, account: Account, **details: Any) -> None:
    audit.record(
        action,
        outcome,
        actor_account_id=account.id,
        actor_kind="account",
        subject_type="account",
        subject_id=account.id,
        details=details or None,
    )


def _system_record(action: str, outcome: str, account: Account, **details: Any) -> None:
    audit.record(
        action,
        outcome,
        actor_kind="system",
        subject_type="account",
        subject_id=account.id,
        details=details or None,
    )


def _minutes(validity: dt.timedelta) -> int:
    return int(validity.total_seconds() // 60)


def _mask(email: str) -> str:
    """``camille@exemple.test`` → ``c***@exemple.test`` (for the notice to the old address)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# ---------------------------------------------------------------- Mot de passe oublié?


def request_password_reset(*, email: str) -> None:
    """Have a reset code emailed to the owner of a confirmed account; silent otherwise."""
    email = normalise_email(email)
    limits.throttle(
        "account.password_reset_request",
        hit=[(limits.RESET_IP, limits.ip()), (limits.RESET_EMAIL, email)],
    )
    account = find_by_email(email)
    eligible = account if account is not None and account.verified_at is not None else None
    # The same writes on every branch (the job decides): the answer and its timing tell nothing.
    queue.emit(RESET_TOPIC, {"account_id": eligible.id if eligible else None})
    audit.record(
        "account.password_reset_request",
        "accepted" if eligible else "ignored",
        subject_type="account" if account else None,
        subject_id=account.id if account else None,
        details=None if eligible else {"reason": "unverified" if account else "unknown_email"},
    )
    db.session.commit()


def send_reset_code(message: queue.OutboxMessage) -> None:
    """Outbox handler: issue and email the reset code of one request (once, if still due)."""
    account_id = message.payload.get("account_id")
    if account_id is None:
        return
    account = db.session.get(Account, account_id, populate_existing=True)
    if account is None or account.verified_at is None:
        return
    done = db.session.scalar(
        select(OneTimeCode.id)
        .where(
            OneTimeCode.account_id == account.id,
            OneTimeCode.purpose == RESET_PURPOSE,
            OneTimeCode.created_at >= message.created_at,
        )
        .limit(1)
    )
    if done is not None:  # a redelivery, or a later request already served this one
        return
    try:
        # Checked first: a code that could not be emailed must not void the one already sent.
        limiter().check((limits.EMAIL_DAY, account.email))
    except RateLimited:
        _system_record("account.password_reset_code", "capped", account)
        return
    row, code = codes.issue(account_id=account.id, purpose=RESET_PURPOSE, validity=RESET_VALIDITY)
    mail_account(
        account, "password_reset_code", {"code": code, "minutes": _minutes(RESET_VALIDITY)}
    )
    _system_record("account.password_reset_code", "sent", account, code_id=row.id)


def reset_password(*, email: str, code: str, password: str) -> None:
    """Set a new password with the emailed code; every session of the account ends."""
    email = normalise_email(email)
    limits.throttle(
        "account.password_reset",
        hit=[(limits.RESET_CONFIRM_IP, limits.ip())],
        check=[(limits.RESET_CONFIRM_EMAIL, email)],
    )
    account = find_by_email(email)
    eligible = account if account is not None and account.verified_at is not None else None
    codes.consume(
        account_id=eligible.id if eligible else None,
        purpose=RESET_PURPOSE,
        code=code,
        audit_action="account.password_reset",
        failures=(limits.RESET_CONFIRM_EMAIL, email),
    )
    assert eligible is not None
    eligible.password_hash = hash_password(password)
    ended = sessions.revoke_all(eligible.id, "password_reset")
    # Whoever knew the old password may have started an email change: it dies with it.
    codes.void(account_id=eligible.id, purposes=(EMAIL_PURPOSE,))
    if sessions.current_session() is not None:
        sessions.close_session()  # this browser's session ended too: drop its cookie
    mail_account(eligible, "password_changed", {})
    _record("account.password_reset", "success", eligible, sessions_ended=ended)
    db.session.commit()


# ---------------------------------------------------------------- Paramètres du compte


def account_settings(account: Account) -> dict[str, Any]:
    """Names, email, language, role, the address awaiting confirmation, the linked profiles."""
    pending = codes.active_code(account.id, EMAIL_PURPOSE)
    return {
        "id": account.id,
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "language": account.language,
        "role": account.role,
        "pending_email": pending.target if pending and now() < pending.expires_at else None,
        "profiles": linked_profiles(account.id),
    }


def update_settings(*, account: Account, changes: dict[str, str]) -> dict[str, Any]:
    """Change the names and the communication language (every later email uses it)."""
    changed = sorted(name for name, value in changes.items() if getattr(account, name) != value)
    for name in changed:
        setattr(account, name, changes[name])
    if changed:
        _record("account.update", "success", account, fields=changed)
    db.session.commit()
    return account_settings(account)


def _check_current_password(account: Account, password: str, action: str, hit: list[Check]) -> None:
    """Count the attempt, then refuse (400, rate-limited per account) a wrong current password."""
    limits.throttle(
        action, hit=hit, check=[(limits.CURRENT_PASSWORD, str(account.id))], account_id=account.id
    )
    if verify_password(account.password_hash, password):
        return
    limiter().add((limits.CURRENT_PASSWORD, str(account.id)))
    _record(action, "failure", account, reason="wrong_current_password")
    db.session.commit()
    raise WrongCurrentPassword()


def _end_other_sessions(account: Account, reason: str) -> int:
    """Keep this browser's session under a new id; end every other session of the account."""
    current = sessions.rotate_session()
    db.session.flush()
    return sessions.revoke_all(account.id, reason, keep=current.id if current else None)


def change_password(*, account: Account, current_password: str, password: str) -> None:
    """Replace the password (the current one is required); the other sessions end."""
    _check_current_password(
        account, current_password, "account.password_change", [(limits.SETTINGS_IP, limits.ip())]
    )
    account.password_hash = hash_password(password)
    ended = _end_other_sessions(account, "password_change")
    codes.void(account_id=account.id, purposes=(RESET_PURPOSE,))
    mail_account(account, "password_changed", {})
    _record("account.password_change", "success", account, sessions_ended=ended)
    db.session.commit()


def request_email_change(*, account: Account, current_password: str, email: str) -> None:
    """Send a code to the new address (the current password is required); nothing changes yet.

    An address another account uses gets the same answer, but its owner is warned instead of
    receiving the code.
    """
    new = normalise_email(email)
    if new == account.email:
        raise ValidationFailed(errors={"email": [SAME_EMAIL]})
    _check_current_password(
        account,
        current_password,
        "account.email_change_request",
        [(limits.SETTINGS_IP, limits.ip()), (limits.EMAIL_CHANGE, str(account.id))],
    )
    holder = find_by_email(new)
    # Issued either way, so the confirmation counts tries and expires the same; the taken
    # address's code is never sent, and the confirmation re-checks the address anyway.
    row, code = codes.issue(account_id=account.id, purpose=EMAIL_PURPOSE, target=new)
    if holder is None:
        mail_account(
            account,
            "email_change_code",
            {"code": code, "minutes": _minutes(codes.VALIDITY)},
            to=new,
        )
    else:
        mail_account(holder, "email_in_use", {})
    _record(
        "account.email_change_request",
        "success" if holder is None else "address_taken",
        account,
        code_id=row.id,
    )
    db.session.commit()


def confirm_email_change(*, account: Account, code: str) -> None:
    """Apply the new address with the code it received; the old address gets a notice."""
    limits.throttle(
        "account.email_change",
        hit=[(limits.SETTINGS_IP, limits.ip())],
        check=[(limits.EMAIL_CHANGE_CONFIRM, str(account.id))],
        account_id=account.id,
    )
    row = codes.consume(
        account_id=account.id,
        purpose=EMAIL_PURPOSE,
        code=code,
        audit_action="account.email_change",
        failures=(limits.EMAIL_CHANGE_CONFIRM, str(account.id)),
    )
    old, new = account.email, row.target
    assert new is not None
    applied = False
    if find_by_email(new) is None:
        try:
            applied = compare_and_set(Account, account.id, {"email": old}, {"email": new})
        except IntegrityError:  # the address was taken since the check
            db.session.rollback()
            codes.void(account_id=account.id, purposes=(EMAIL_PURPOSE,))
    if not applied:
        # Answered exactly like a wrong code: the address's owner is not revealed.
        limiter().add((limits.EMAIL_CHANGE_CONFIRM, str(account.id)))
        _record("account.email_change", "failure", account, reason="address_taken")
        db.session.commit()
        raise codes.CodeRejected("wrong")
    set_committed_value(account, "email", new)
    ended = _end_other_sessions(account, "email_change")
    # A reset code sent to the old address must not outlive it.
    codes.void(account_id=account.id, purposes=(RESET_PURPOSE,))
    mail_account(account, "email_changed", {"new_email": _mask(new)}, to=old)
    _record("account.email_change", "success", account, sessions_ended=ended)
    db.session.commit()


def unlink_profile(*, account: Account, profile_id: int) -> None:
    """End the account's link to a profile (``unlinked_at``; the history stays); 404 if none."""
    result = db.session.execute(
        update(AccountLink)
        .where(
            AccountLink.account_id == account.id,
            AccountLink.organisation_id == profile_id,
            AccountLink.unlinked_at.is_(None),
        )
        .values(unlinked_at=now())
        .execution_options(synchronize_session=False)
    )
    ended = int(result.rowcount)  # type: ignore[attr-defined]
    audit.record(
        "account.unlink",
        "success" if ended else "failure",
        actor_account_id=account.id,
        actor_kind="account",
        subject_type="organisation",
        subject_id=profile_id,
        details={"links_ended": ended} if ended else {"reason": "not_linked"},
    )
    db.session.commit()
    if not ended:
        raise NotFound(NOT_LINKED)


def init_app(app: Flask) -> None:
    """Register the background job that emails reset codes."""
    queue.register(
        app,
        RESET_TOPIC,
        queue.Handler(func=send_reset_code, queue="email", max_attempts=10, backoff_seconds=2.0),
    )
