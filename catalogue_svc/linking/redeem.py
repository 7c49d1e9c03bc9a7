"""Redeem linking credentials (*coordonnées de liaison*) and legacy credentials for an account.

Linking codes (RELIABILITY.md R11, S3): every try first *reserves* an attempt on the credential
(``UPDATE … SET failed_attempts = failed_attempts + 1 WHERE id = ? AND state = 'active' AND
failed_attempts < 5``), so no more than 5 tries of a code are ever evaluated, even concurrently;
the 5th wrong one locks it until it is reissued. Success is ``UPDATE … SET state = 'used' WHERE
id = ? AND state = 'active'`` in the same transaction: a reissue (which voids with ``WHERE state
= 'active'``) either commits first, and the redemption finds no active row, or waits for the
redemption's row lock and then finds the code used. The old code never succeeds after a reissue
commits.

Legacy credentials (the old site's username and Argon2id password hash) are limited the same way;
the attempt is reserved and committed *before* the slow hash is checked, so no lock is held
while hashing.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..accounts import limits, sessions
from ..accounts.links import (
    LINKED_ELSEWHERE,
    Profile,
    has_active_relation,
    link_contact,
    other_account_linked,
    profile_for,
)
from ..accounts.models import Account
from ..clock import now
from ..db import compare_and_set, count_attempt, db
from ..errors import Conflict, DomainError
from ..passwords import code_matches, verify_password
from ..ratelimit import Check, limiter
from .models import LegacyCredential, LinkingCredential
from .service import pepper

MAX_ATTEMPTS = 5

MESSAGES = {
    "invalid": (
        "Identifiant ou code de liaison invalide. Vérifiez les coordonnées de liaison reçues "
        "par courriel."
    ),
    "locked": (
        "Ces coordonnées de liaison sont verrouillées après trop d'essais. Demandez de "
        "nouvelles coordonnées de liaison au responsable de votre organisation ou à nous."
    ),
    "expired": (
        "Ces coordonnées de liaison ont expiré. Demandez de nouvelles coordonnées de liaison."
    ),
    "replaced": (
        "Ces coordonnées de liaison ont été remplacées par de plus récentes. Utilisez celles du "
        "dernier courriel reçu."
    ),
    "no_relation": (
        "Ce contact n'a plus de relation active avec cette organisation : la liaison est "
        "impossible."
    ),
    "legacy_invalid": "Nom d'utilisateur ou mot de passe de l'ancien site invalide.",
    "legacy_locked": (
        "Ces identifiants de l'ancien site sont verrouillés après trop d'essais. Utilisez vos "
        "coordonnées de liaison ou communiquez avec nous."
    ),
}


class LinkRefused(DomainError):
    """Linking credentials refused (400); ``reason`` is audited."""

    status, slug = 400, "linking-refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(MESSAGES[reason])


def normalise_identifier(identifier: str) -> str:
    """``l-7kq2 mx9t`` → ``L-7KQ2MX9T``… as issued: upper-case, no spaces."""
    return "".join(identifier.split()).upper()


class _Attempt:
    """One linking attempt: its limits, and how it fails (audited, committed, counted)."""

    def __init__(self, account: Account, method: str, guessed: str) -> None:
        self.account = account
        self.method = method
        self.guessed = guessed  # the identifier or username being tried
        ip = limits.ip()
        limits.throttle(
            "linking.redeem",
            hit=[(limits.LINK_IP, ip), (limits.LINK_IP_HOUR, ip)],
            check=self._failure_keys(),
            account_id=account.id,
        )

    def _failure_keys(self) -> list[Check]:
        limit = limits.LINK_IDENTIFIER if self.method == "linking_code" else limits.LEGACY_USERNAME
        return [(limits.LINK_ACCOUNT, str(self.account.id)), (limit, self.guessed)]

    def fail(
        self,
        reason: str,
        *,
        credential_id: int | None = None,
        guess: bool = True,
        conflict: bool = False,
    ) -> NoReturn:
        if guess:
            limiter().add(*self._failure_keys())
        audit.record(
            "linking.redeem",
            "failure",
            actor_account_id=self.account.id,
            actor_kind="account",
            subject_type=f"{self.method}_credential" if credential_id else None,
            subject_id=credential_id,
            details={"method": self.method, "reason": reason},
        )
        db.session.commit()
        if conflict:
            raise Conflict(LINKED_ELSEWHERE)
        raise LinkRefused(reason)

    def succeed(self, *, contact_id: int, organisation_id: int, credential_id: int) -> Profile:
        try:
            link, created = link_contact(
                account_id=self.account.id,
                contact_id=contact_id,
                organisation_id=organisation_id,
                method=self.method,
                credential_id=credential_id,
            )
        except IntegrityError:  # another account linked this profile at the same moment
            db.session.rollback()
            self.fail("linked_elsewhere", credential_id=credential_id, guess=False, conflict=True)
        sessions.rotate_session()
        audit.record(
            "linking.redeem",
            "success",
            actor_account_id=self.account.id,
            actor_kind="account",
            subject_type="contact",
            subject_id=contact_id,
            details={
                "method": self.method,
                "credential_id": credential_id,
                "organisation_id": organisation_id,
                "link_id": link.id,
                "created": created,
            },
        )
        db.session.commit()
        profile = profile_for(self.account.id, organisation_id)
        assert profile is not None  # the relation was checked active in this transaction
        return profile


def _credential(identifier: str) -> LinkingCredential | None:
    return db.session.scalars(  # type: ignore[no-any-return]
        select(LinkingCredential)
        .where(LinkingCredential.identifier == identifier)
        .execution_options(populate_existing=True)
    ).first()


def redeem_linking_code(*, account: Account, identifier: str, code: str) -> Profile:
    """Link ``account`` to the profile named by linking credentials; returns the profile."""
    ident = normalise_identifier(identifier)
    attempt = _Attempt(account, "linking_code", ident)
    cleaned = "".join(code.split()).upper()
    for _ in range(2):  # a lost reservation is looked at once more, in its new state
        credential = _credential(ident)
        if credential is None:
            attempt.fail("invalid")
        cid = credential.id
        if credential.state == "locked":
            attempt.fail("locked", credential_id=cid)
        if credential.state == "void":
            attempt.fail("replaced", credential_id=cid, guess=False)
        if credential.state == "used":
            if not code_matches(credential.code_hash, cleaned, pepper()):
                attempt.fail("invalid", credential_id=cid)
            if credential.used_by_account_id != account.id:
                attempt.fail("linked_elsewhere", credential_id=cid, guess=False, conflict=True)
            # The same account presenting its used code again: harmless, same profile.
            profile = profile_for(account.id, credential.organisation_id)
            if profile is None:
                attempt.fail("no_relation", credential_id=cid, guess=False)
            audit.record(
                "linking.redeem",
                "success",
                actor_account_id=account.id,
                actor_kind="account",
                subject_type="contact",
                subject_id=credential.contact_id,
                details={"method": "linking_code", "credential_id": cid, "already_linked": True},
            )
            db.session.commit()
            return profile
        if now() >= credential.expires_at:
            attempt.fail("expired", credential_id=cid, guess=False)
        if count_attempt(LinkingCredential, cid, "failed_attempts", MAX_ATTEMPTS):
            break
        db.session.rollback()
    else:
        attempt.fail("locked", credential_id=cid)
    if not code_matches(credential.code_hash, cleaned, pepper()):
        tries = db.session.scalar(
            select(LinkingCredential.failed_attempts).where(LinkingCredential.id == cid)
        )
        if tries is not None and tries >= MAX_ATTEMPTS:
            compare_and_set(LinkingCredential, cid, {"state": "active"}, {"state": "locked"})
            attempt.fail("locked", credential_id=cid)
        attempt.fail("invalid", credential_id=cid)
    if not has_active_relation(credential.contact_id, credential.organisation_id):
        attempt.fail("no_relation", credential_id=cid, guess=False)
    if other_account_linked(account.id, credential.contact_id) is not None:
        attempt.fail("linked_elsewhere", credential_id=cid, guess=False, conflict=True)
    used = compare_and_set(
        LinkingCredential,
        cid,
        {"state": "active"},
        {"state": "used", "used_at": now(), "used_by_account_id": account.id},
    )
    if not used:  # cannot happen while we hold the row; kept as the rule's last word
        attempt.fail("replaced", credential_id=cid, guess=False)
    return attempt.succeed(
        contact_id=credential.contact_id,
        organisation_id=credential.organisation_id,
        credential_id=cid,
    )


def redeem_legacy(*, account: Account, username: str, password: str) -> Profile:
    """Link ``account`` with the old site's username and password; returns the profile."""
    name = username.strip()
    attempt = _Attempt(account, "legacy", name.lower())
    credential = db.session.scalars(
        select(LegacyCredential).where(LegacyCredential.username == name)
    ).first()
    if credential is not None:
        cid = credential.id
        reserved = db.session.execute(
            update(LegacyCredential)
            .where(LegacyCredential.id == cid, LegacyCredential.failed_attempts < MAX_ATTEMPTS)
            .values(failed_attempts=LegacyCredential.failed_attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        db.session.commit()  # the try is counted before the slow hash is checked
        if reserved != 1:
            verify_password(None, password)  # same time as a real check
            attempt.fail("legacy_locked", credential_id=cid)
    ok = verify_password(credential.password_hash if credential else None, password)
    if credential is None or not ok:
        attempt.fail("legacy_invalid", credential_id=credential.id if credential else None)
    cid = credential.id
    contact_id, organisation_id = credential.contact_id, credential.organisation_id
    # The right password was not a failure: give back its reservation (the counter keeps
    # every wrong try ever made, so five of them lock the credentials for good).
    db.session.execute(
        update(LegacyCredential)
        .where(LegacyCredential.id == cid, LegacyCredential.failed_attempts > 0)
        .values(failed_attempts=LegacyCredential.failed_attempts - 1)
        .execution_options(synchronize_session=False)
    )
    if not has_active_relation(contact_id, organisation_id):
        attempt.fail("no_relation", credential_id=cid, guess=False)
    if other_account_linked(account.id, contact_id) is not None:
        attempt.fail("linked_elsewhere", credential_id=cid, guess=False, conflict=True)
    db.session.execute(
        update(LegacyCredential)
        .where(LegacyCredential.id == cid)
        .values(used_at=now(), used_by_account_id=account.id)
        .execution_options(synchronize_session=False)
    )
    return attempt.succeed(
        contact_id=contact_id, organisation_id=organisation_id, credential_id=cid
    )
