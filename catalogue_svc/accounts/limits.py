"""The rate limits of the accounts and linking endpoints (names are overridable in config).

``*_ip`` limits count every attempt from an address; the others count failures only, keyed on
what is being guessed at (an email, an account, an identifier, a username) so that spreading
guesses over addresses does not help. Keys never depend on whether the email or identifier
exists, so a 429 reveals nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import audit
from ..db import db
from ..errors import RateLimited, french_duration
from ..ratelimit import Check, Limit, limiter

SIGNUP_IP = Limit("signup-ip", 20, 3600)
SIGNUP_EMAIL = Limit("signup-email", 3, 3600)

VERIFY_IP = Limit("verify-ip", 30, 300)
VERIFY_EMAIL = Limit("verify-email", 10, 900)  # wrong codes; a code itself dies after 5

RESEND_IP = Limit("resend-ip", 10, 900)
RESEND_EMAIL = Limit("resend-email", 3, 900)
RESEND_COOLDOWN_SECONDS = 60  # per address, enforced on the code's sent_at in the database

EMAIL_DAY = Limit("email-day", 10, 86400)  # emails the accounts domain sends one address (S10)

LOGIN_IP = Limit("login-ip", 30, 300)
LOGIN_EMAIL = Limit("login-email", 10, 900)  # failures

LINK_IP = Limit("link-ip", 20, 60)  # linking attempts (both methods) from one address
LINK_IP_HOUR = Limit("link-ip-hour", 100, 3600)
LINK_ACCOUNT = Limit("link-account", 10, 3600)  # failures of one account (both methods)
LINK_IDENTIFIER = Limit("link-identifier", 5, 3600)  # failures on one identifier
LEGACY_USERNAME = Limit("legacy-username", 5, 3600)  # failures on one legacy username

# Linking codes a submission emails (*Émettre un nouveau code de liaison*, *Envoyer les
# coordonnées de liaison aux membres*): each is an email to a member, so a person cannot flood one.
LINK_SEND_ACCOUNT = Limit("link-send-account", 10, 3600)  # such submissions by one account
LINK_SEND_CONTACT = Limit("link-send-contact", 3, 86400)  # codes sent to one existing contact

# Account settings (*Mot de passe oublié?*, *Paramètres du compte*).
RESET_IP = Limit("reset-ip", 10, 900)  # reset requests from one address
RESET_EMAIL = Limit("reset-email", 3, 900)  # reset requests naming one email
RESET_CONFIRM_IP = Limit("reset-confirm-ip", 30, 300)
RESET_CONFIRM_EMAIL = Limit("reset-confirm-email", 10, 900)  # wrong codes; a code dies after 5
SETTINGS_IP = Limit("settings-ip", 30, 300)  # password and email changes from one address
CURRENT_PASSWORD = Limit("current-password", 5, 900)  # wrong current passwords of one account
EMAIL_CHANGE = Limit("email-change", 5, 3600)  # email-change requests (each sends an email)
EMAIL_CHANGE_CONFIRM = Limit("email-change-confirm", 10, 900)  # wrong codes of one account


def ip() -> str:
    """The key of the ``*_ip`` limits: the caller's address (``-`` outside a request)."""
    return audit.client_ip() or "-"


def throttle(
    action: str,
    *,
    hit: Sequence[Check] = (),
    check: Sequence[Check] = (),
    account_id: int | None = None,
) -> None:
    """Count this attempt (``hit``) and make sure failures have room (``check``); a refused
    attempt is audited as ``action`` with outcome ``rate_limited`` and answered 429."""
    try:
        if hit:
            limiter().hit(*hit)
        if check:
            limiter().check(*check)
    except RateLimited:
        audit.record(
            action,
            "rate_limited",
            actor_account_id=account_id,
            actor_kind="account" if account_id else "anonymous",
        )
        db.session.commit()
        raise


def linking_sends(account_id: int, contact_ids: Sequence[int]) -> None:
    """Count a submission that emails new linking codes to ``contact_ids`` (existing contacts),
    or refuse it with a 429 saying why (audited like every refusal): all or nothing, so a refused
    bulk send counts against nobody."""
    checks = [(LINK_SEND_ACCOUNT, str(account_id))]
    checks += [(LINK_SEND_CONTACT, str(contact_id)) for contact_id in contact_ids]
    try:
        throttle("request.linking_codes", hit=checks, account_id=account_id)
    except RateLimited as exc:
        raise RateLimited(
            int(exc.headers["Retry-After"]),
            "Trop de codes de liaison envoyés : un membre en reçoit au plus "
            f"{limiter().effective(LINK_SEND_CONTACT).max} par 24 heures, et une personne "
            f"soumet au plus {limiter().effective(LINK_SEND_ACCOUNT).max} envois par heure. "
            f"Réessayez dans {french_duration(int(exc.headers['Retry-After']))}.",
        ) from None
