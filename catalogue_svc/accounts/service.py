"""Account use cases: sign up, confirm the email, resend the code, log in and out, who am I.

Each function owns its transaction. Answers never depend on whether an email is registered
(RELIABILITY.md S4): sign-up hashes a password on every branch, login verifies against a dummy
hash when the email is unknown, and rate-limit keys are the submitted strings, not account ids.

Nothing an anonymous requester types is trusted before a code proves the mailbox (security
round 2, hole 4). Each sign-up of an address still waiting for its code is its own
:class:`~.models.SignUp` (password, names, language, the browser it came from); a repeated sign-up
changes nothing that exists, and answers like a first one. Every sign-up emails the address a new
code (the previous one dies, so the latest email's is the one that works), and that code
confirms the sign-up *of the browser that enters it*: the owner who signed up and enters the
latest code gets their own password, whoever else signed up before or after them. Someone who
lost their code signs up again, in any browser, and uses the new code there. A code entered in
a browser that made no sign-up confirms the address's only sign-up, if all its sign-ups come
from one browser (the owner read the email on another device); when several browsers compete it
confirms none and says to enter it where the sign-up was made. Code emails greet no one by name:
the name was typed by whoever signed up, perhaps not the mailbox's owner.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..clock import now
from ..db import compare_and_set, db
from ..errors import DomainError, RateLimited, Unauthorized
from ..notifications.service import queue_email
from ..passwords import hash_password, needs_rehash, verify_password
from ..ratelimit import limiter
from . import codes, limits, sessions
from .links import linked_profiles
from .models import Account, SignUp
from .policy import normalise_email

log = logging.getLogger(__name__)

VERIFY_EMAIL = "verify_email"
LOGIN_FAILED = (
    "Adresse courriel ou mot de passe invalide, ou adresse courriel pas encore confirmée."
)
SIGNED_UP = (
    "Si cette adresse peut servir à créer un compte, un code à usage unique vient d'y être "
    "envoyé. Inscrivez-le pour valider la création de votre compte (valide 10 minutes)."
)
RESENT = (
    "Si un compte en attente de validation existe pour cette adresse, un nouveau code y a été "
    "envoyé."
)
VERIFIED = "Votre adresse courriel est confirmée. Vous pouvez maintenant vous connecter."
SIGNED_UP_ELSEWHERE = (
    "Plusieurs demandes de création de compte ont été faites avec cette adresse : inscrivez ce "
    "code dans le navigateur où vous avez fait la vôtre, ou recommencez l'inscription dans ce "
    "navigateur-ci."
)


class SignedUpElsewhere(DomainError):
    """A right code entered in a browser that made none of the competing sign-ups (400)."""

    status, slug = 400, "sign-up-elsewhere"

    def __init__(self) -> None:
        super().__init__(SIGNED_UP_ELSEWHERE, errors={"code": [SIGNED_UP_ELSEWHERE]})


def _browser() -> str:
    """A keyed hash of this browser's session cookie token (never the token itself).

    Every state-changing call carries that cookie (the CSRF check needs it), and it lives until
    the browser logs in or is closed: long enough to enter the code of its own sign-up."""
    token = request.cookies.get(sessions.cookie_name(), "") if has_request_context() else ""
    key = str(current_app.config["CATALOGUE_SETTINGS"].secret_key).encode()
    return hmac.new(key, b"sign-up-browser\x00" + token.encode(), hashlib.sha256).hexdigest()


def find_by_email(email: str) -> Account | None:
    """The account of ``email`` (any case), or None."""
    return db.session.scalars(  # type: ignore[no-any-return]
        select(Account)
        .where(Account.email == normalise_email(email))
        .execution_options(populate_existing=True)  # compare-and-sets bypass the identity map
    ).first()


def mail_account(
    account: Account,
    template: str,
    params: dict[str, Any],
    *,
    to: str | None = None,
    language: str | None = None,
) -> bool:
    """Queue an email for the account, in its language (or ``language``), to its address (or
    ``to``, e.g. a new address to confirm), unless that address had its share today (S10)."""
    address = to or account.email
    try:
        limiter().hit((limits.EMAIL_DAY, address))
    except RateLimited:  # drop the email; the answer stays the same
        log.warning(
            "daily email cap reached",
            extra={"fields": {"account": account.id, "template": template}},
        )
        return False
    queue_email(
        to=address,
        template=template,
        language=language or account.language,
        params={"first_name": account.first_name, **params},
        account_id=account.id,
    )
    return True


def _send_code(account: Account, language: str | None = None) -> None:
    _, code = codes.issue(account_id=account.id, purpose=VERIFY_EMAIL)
    mail_account(
        account,
        "verify_email",
        {"code": code, "minutes": int(codes.VALIDITY.total_seconds() // 60)},
        language=language,
    )


def sign_up(
    *, email: str, password: str, first_name: str, last_name: str, language: str = "fr"
) -> str:
    """Record a sign-up and email the address a code; for a registered address, email its owner
    instead. The same outcome for the caller either way, and for a repeated sign-up of a pending
    address, which replaces nothing (see the module docstring); returns the normalised email."""
    email = normalise_email(email)
    limits.throttle(
        "account.create", hit=[(limits.SIGNUP_IP, limits.ip()), (limits.SIGNUP_EMAIL, email)]
    )
    password_hash = hash_password(password)  # on every branch: the timing says nothing
    at = now()
    account = find_by_email(email)
    repeated = account is not None
    if account is None:
        # The address's row, with this first sign-up's choices until a code confirms one.
        account = Account(
            email=email,
            first_name=first_name,
            last_name=last_name,
            password_hash=password_hash,
            language=language,
            role="user",
            terms_accepted_at=at,
            created_at=at,
        )
        db.session.add(account)
        try:
            db.session.flush()
        except IntegrityError:  # the same address signed up concurrently
            db.session.rollback()
            account = find_by_email(email)
            if account is None:
                raise
            repeated = True
    if account.verified_at is not None:
        return _existing(account, email)
    row = SignUp(
        account_id=account.id,
        browser=_browser(),
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        language=language,
        created_at=at,
    )
    db.session.add(row)
    db.session.flush()
    _send_code(account, language)  # in the language this sign-up chose
    audit.record(
        "account.create",
        "success",
        actor_account_id=account.id,
        subject_type="account",
        subject_id=account.id,
        details={"sign_up_id": row.id, "repeated": repeated},
    )
    db.session.commit()
    return email


def _existing(account: Account, email: str) -> str:
    mail_account(account, "account_exists", {})
    audit.record("account.create", "duplicate", subject_type="account", subject_id=account.id)
    db.session.commit()
    return email


def _sign_up_to_confirm(rows: Sequence[SignUp]) -> SignUp | None:
    """The latest sign-up of this browser; else the latest one if they all come from one other
    browser (the code was read on another device); else None (several browsers compete)."""
    browser = _browser()
    mine = [row for row in rows if row.browser == browser]
    if mine:
        return mine[-1]
    if rows and len({row.browser for row in rows}) == 1:
        return rows[-1]
    return None


def verify_email(*, email: str, code: str) -> Account:
    """Confirm the address with the emailed code, with the password and names of the sign-up
    made in this browser (see the module docstring); the account may then log in."""
    email = normalise_email(email)
    limits.throttle(
        "account.verify",
        hit=[(limits.VERIFY_IP, limits.ip())],
        check=[(limits.VERIFY_EMAIL, email)],
    )
    account = find_by_email(email)
    pending = account if account is not None and account.verified_at is None else None
    codes.consume(
        account_id=pending.id if pending else None,
        purpose=VERIFY_EMAIL,
        code=code,
        audit_action="account.verify",
        failures=(limits.VERIFY_EMAIL, email),
    )
    assert pending is not None
    account_id = pending.id
    rows = db.session.scalars(
        select(SignUp)
        .where(SignUp.account_id == account_id, SignUp.confirmed_at.is_(None))
        .order_by(SignUp.id)
    ).all()
    chosen = _sign_up_to_confirm(rows)
    at = now()
    values: dict[str, Any] = {"verified_at": at}
    if chosen is not None:
        values.update(
            password_hash=chosen.password_hash,
            first_name=chosen.first_name,
            last_name=chosen.last_name,
            language=chosen.language,
            terms_accepted_at=chosen.created_at,
        )
        chosen.confirmed_at = at
    elif rows:
        # Only the mailbox's owner has this code: telling them costs nothing. The code stays
        # valid (rolled back) for the browser that made their sign-up.
        db.session.rollback()
        audit.record(
            "account.verify",
            "failure",
            subject_type="account",
            subject_id=account_id,
            details={"reason": "sign_up_elsewhere", "sign_ups": len(rows)},
        )
        db.session.commit()
        raise SignedUpElsewhere()
    # (No sign-up rows: an address signed up before they existed; its account row holds it.)
    compare_and_set(Account, account_id, {"verified_at": None}, values)
    db.session.expire(pending)
    audit.record(
        "account.verify",
        "success",
        actor_account_id=account_id,
        actor_kind="account",
        subject_type="account",
        subject_id=account_id,
        details={"sign_up_id": chosen.id if chosen is not None else None},
    )
    db.session.commit()
    return pending


def resend_verification(*, email: str) -> None:
    """Email a new code to an unconfirmed account, at most once a minute; silent otherwise."""
    email = normalise_email(email)
    limits.throttle(
        "account.code_resend", hit=[(limits.RESEND_IP, limits.ip()), (limits.RESEND_EMAIL, email)]
    )
    account = find_by_email(email)
    outcome = "ignored"
    if account is not None and account.verified_at is None:
        current = codes.active_code(account.id, VERIFY_EMAIL)
        cooling = current is not None and (now() - current.sent_at).total_seconds() < (
            limits.RESEND_COOLDOWN_SECONDS
        )
        if cooling:
            outcome = "cooldown"
        else:
            _send_code(account)
            outcome = "success"
    audit.record(
        "account.code_resend",
        outcome,
        subject_type="account" if account else None,
        subject_id=account.id if account else None,
    )
    db.session.commit()


def log_in(*, email: str, password: str) -> Account:
    """Open a session for a confirmed account; the same 401 for every kind of failure."""
    email = normalise_email(email)
    limits.throttle(
        "session.login", hit=[(limits.LOGIN_IP, limits.ip())], check=[(limits.LOGIN_EMAIL, email)]
    )
    account = find_by_email(email)
    ok = verify_password(account.password_hash if account else None, password)
    if account is None or not ok or account.verified_at is None or account.disabled_at:
        reason = (
            "unknown_email"
            if account is None
            else "bad_password"
            if not ok
            else "unverified"
            if account.verified_at is None
            else "disabled"
        )
        limiter().add((limits.LOGIN_EMAIL, email))
        audit.record(
            "session.login",
            "failure",
            subject_type="account" if account else None,
            subject_id=account.id if account else None,
            details={"reason": reason},
        )
        db.session.commit()
        raise Unauthorized(LOGIN_FAILED)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = now()
    sessions.open_session(account)
    audit.record(
        "session.login",
        "success",
        actor_account_id=account.id,
        actor_kind="account",
        subject_type="account",
        subject_id=account.id,
    )
    db.session.commit()
    return account


def log_out() -> None:
    """End the caller's session (401 when there is none)."""
    account = sessions.require_account()
    sessions.close_session()
    audit.record(
        "session.logout",
        "success",
        actor_account_id=account.id,
        actor_kind="account",
        subject_type="account",
        subject_id=account.id,
    )
    db.session.commit()


def who_am_i() -> dict[str, Any]:
    """The caller (or nobody) and the CSRF token it must send on state-changing calls."""
    account = sessions.current_account()
    return {
        "authenticated": account is not None,
        "account": account,
        "linked_profiles": len(linked_profiles(account.id)) if account else 0,
        "csrf_token": sessions.csrf_token(),
    }


def create_verified_account(
    *,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: str = "user",
    language: str = "fr",
) -> Account:
    """A confirmed account, made directly (demo data, operators, tests); caller's transaction."""
    if password_hash is None:
        if password is None:
            raise ValueError("password or password_hash is required")
        password_hash = hash_password(password)
    at = now()
    account = Account(
        email=normalise_email(email),
        first_name=first_name,
        last_name=last_name,
        password_hash=password_hash,
        role=role,
        language=language,
        verified_at=at,
        terms_accepted_at=at,
        created_at=at,
    )
    db.session.add(account)
    db.session.flush()
    audit.record(
        "account.create",
        "success",
        actor_kind="system",
        subject_type="account",
        subject_id=account.id,
        details={"direct": True, "role": role},
    )
    return account
