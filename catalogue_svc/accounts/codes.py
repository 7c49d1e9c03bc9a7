"""One-time codes emailed to an account: issue, and check-and-use (RELIABILITY.md S2).

Reusable for every purpose (``verify_email`` here; ``password_reset`` and ``change_email`` in the
account settings): 6 digits from ``secrets``, stored as a keyed hash bound to the account and the
purpose, valid 10 minutes (the password reset's 30, as its issue asks), single use, voided by the
5th wrong try; at most one active code per account and purpose. Each try first *reserves* an
attempt with a compare-and-set, so concurrent guesses can never evaluate more than 5 tries of one
code.

A refused code always gets the same answer (:data:`REFUSED`), whether it was wrong, expired,
used, voided by its 5th wrong try, or there was no code (or no account) at all; the reason goes
to the audit only. Telling "too many tries" or "expired" apart let anyone who asked a code for an
email learn that it has an account (security round 2, hole 3). For the same reason every try
runs the same statements and one keyed hash, against rows that do not exist when there is no
code.
"""

from __future__ import annotations

import datetime as dt
from typing import NoReturn

from sqlalchemy import select, update

from .. import audit
from ..clock import now
from ..db import compare_and_set, count_attempt, db
from ..errors import DomainError
from ..linking.service import pepper
from ..passwords import code_matches, hash_code, numeric_code
from ..ratelimit import Check, limiter
from .models import OneTimeCode

VALIDITY = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5

REFUSED = (
    "Code invalide ou expiré. Inscrivez le dernier code reçu par courriel; après 5 essais, ou "
    "passé son délai, demandez un nouveau code."
)
REASONS = ("wrong", "no_code", "expired", "exhausted")  # for the audit, never for the answer
_NO_ROW = -1  # no account or code has this id: the statements of a missing code match nothing
_NO_HASH = "0" * 64  # what a missing code is compared with (no HMAC digest is all zeros)


class CodeRejected(DomainError):
    """A one-time code was refused (400, always the same answer); ``reason`` is for the audit."""

    status, slug = 400, "invalid-code"

    def __init__(self, reason: str) -> None:
        assert reason in REASONS
        self.reason = reason
        super().__init__(REFUSED, errors={"code": [REFUSED]})


def _bound(account_id: int, purpose: str, code: str) -> str:
    # Bound to the account and purpose: a code can only ever confirm what it was sent for.
    return f"{account_id}:{purpose}:{code}"


def _digest(account_id: int, purpose: str, code: str) -> str:
    return hash_code(_bound(account_id, purpose, code), pepper())


def active_code(account_id: int, purpose: str) -> OneTimeCode | None:
    """The account's active code for ``purpose`` (possibly expired), if any."""
    return db.session.scalars(  # type: ignore[no-any-return]
        select(OneTimeCode)
        .where(
            OneTimeCode.account_id == account_id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.state == "active",
        )
        .execution_options(populate_existing=True)
    ).first()


def issue(
    *,
    account_id: int,
    purpose: str,
    target: str | None = None,
    validity: dt.timedelta = VALIDITY,
) -> tuple[OneTimeCode, str]:
    """Void the active code of (account, purpose) and create a new one valid ``validity``, in
    the caller's transaction; returns the row and the clear code (for the email only)."""
    at = now()
    db.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account_id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.state == "active",
        )
        .values(state="void", voided_at=at)
        .execution_options(synchronize_session=False)
    )
    code = numeric_code(6)
    row = OneTimeCode(
        account_id=account_id,
        purpose=purpose,
        code_hash=_digest(account_id, purpose, code),
        target=target,
        created_at=at,
        sent_at=at,
        expires_at=at + validity,
    )
    db.session.add(row)
    db.session.flush()
    return row, code


def consume(
    *,
    account_id: int | None,
    purpose: str,
    code: str,
    audit_action: str,
    failures: Check,
) -> OneTimeCode:
    """Check ``code`` and mark it used (in the caller's transaction, which the caller commits).

    On any failure the attempt is recorded, audited as ``audit_action`` and *committed*, and one
    failure is counted against ``failures`` (a limit and its key), before :class:`CodeRejected`
    is raised, so an error response cannot roll the count back. ``account_id=None`` (an unknown
    email) fails like a wrong code, after the same work.
    """
    try:
        return _consume(account_id, purpose, code, audit_action)
    except CodeRejected:
        limiter().add(failures)
        raise


def _consume(account_id: int | None, purpose: str, code: str, audit_action: str) -> OneTimeCode:
    row = active_code(_NO_ROW if account_id is None else account_id, purpose)
    at = now()
    live = row is not None and at < row.expires_at
    target = row.id if row is not None and live else _NO_ROW
    # Every statement below runs on every branch (matching no row when there is no live code),
    # so a try for an unknown email costs what a try for a real one does.
    reserved = count_attempt(OneTimeCode, target, "attempts", MAX_ATTEMPTS)
    cleaned = "".join(code.split())
    matches = code_matches(
        row.code_hash if row is not None else _NO_HASH,
        _bound(row.account_id if row is not None else _NO_ROW, purpose, cleaned),
        pepper(),
    )
    if matches and reserved:
        if compare_and_set(
            OneTimeCode, target, {"state": "active"}, {"state": "used", "used_at": at}
        ):
            return row  # type: ignore[return-value]
        _fail(account_id, audit_action, "exhausted", target)
    attempts = db.session.scalar(select(OneTimeCode.attempts).where(OneTimeCode.id == target))
    spent = reserved and attempts is not None and attempts >= MAX_ATTEMPTS
    compare_and_set(
        OneTimeCode,
        target if spent else _NO_ROW,
        {"state": "active"},
        {"state": "void", "voided_at": at},
    )
    if row is None:
        _fail(account_id, audit_action, "no_code", None)
    if not live:
        _fail(account_id, audit_action, "expired", row.id)
    if reserved != 1 or spent:
        _fail(account_id, audit_action, "exhausted", row.id)
    _fail(account_id, audit_action, "wrong", row.id)


def void(*, account_id: int, purposes: tuple[str, ...]) -> int:
    """Void the account's active codes for ``purposes`` (caller's transaction); the count."""
    result = db.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account_id,
            OneTimeCode.purpose.in_(purposes),
            OneTimeCode.state == "active",
        )
        .values(state="void", voided_at=now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _fail(account_id: int | None, action: str, reason: str, code_id: int | None) -> NoReturn:
    audit.record(
        action,
        "failure",
        actor_account_id=account_id,
        actor_kind="account" if account_id else "anonymous",
        subject_type="account" if account_id else None,
        subject_id=account_id,
        details={"reason": reason, "code_id": code_id},
    )
    db.session.commit()
    raise CodeRejected(reason)
