"""Issue linking credentials; the accounts domain redeems them."""

from __future__ import annotations

import datetime as dt
import secrets
import string

from flask import current_app
from sqlalchemy import update

from .. import audit
from ..clock import now
from ..db import db, reserve_id
from ..notifications.service import queue_email
from ..notifications.templates import LINKING_INTRO_ISSUED, LINKING_INTRO_MIGRATED, local_date
from ..passwords import hash_code
from .models import LinkingCredential

VALIDITY = dt.timedelta(days=60)
_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "O0I1L")


def _token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_identifier() -> str:
    """A readable, random linking identifier such as ``L-7KQ2-MX9T``."""
    return f"L-{_token(4)}-{_token(4)}"


def pepper() -> str:
    """The key of code hashes (the service's secret key)."""
    return str(current_app.config["CATALOGUE_SETTINGS"].secret_key)


def issue(
    *,
    contact_id: int,
    organisation_id: int,
    request_id: int | None = None,
    actor_account_id: int | None = None,
    validity: dt.timedelta = VALIDITY,
    new_contact: bool = False,
) -> tuple[LinkingCredential, str]:
    """Void the contact's active credential and issue a new one; returns it and the clear code.

    Runs in the caller's transaction. The clear code leaves this function only to be put in
    the email; it is stored hashed. ``new_contact``: the contact was created in this
    transaction, so it has no credential to void (one statement saved per new person).
    """
    voided = 0
    if not new_contact:
        voided = db.session.execute(
            update(LinkingCredential)
            .where(LinkingCredential.contact_id == contact_id, LinkingCredential.state == "active")
            .values(state="void")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    code = _token(10)
    credential = LinkingCredential(
        id=reserve_id(LinkingCredential),
        contact_id=contact_id,
        organisation_id=organisation_id,
        identifier=new_identifier(),
        code_hash=hash_code(code, pepper()),
        expires_at=now() + validity,
        created_by_request_id=request_id,
    )
    db.session.add(credential)
    audit.record(
        "linking.issue",
        actor_account_id=actor_account_id,
        actor_kind="account" if actor_account_id else "system",
        subject_type="contact",
        subject_id=contact_id,
        details={"credential_id": credential.id, "voided": voided, "request_id": request_id},
    )
    return credential, code


def queue_credentials_email(
    *,
    to: str,
    language: str,
    first_name: str,
    last_name: str,
    organisation_name: str,
    organisation_client_number: str,
    credential: LinkingCredential,
    code: str,
    migrated: bool,
    contact_id: int,
    request_id: int | None = None,
    dedupe_key: str,
) -> int:
    """Queue the *courriel explicatif* of ``credential`` (in the caller's transaction); its id.

    The one way every sender (the import, a form's new member, a reissue) writes this email:
    the same template and parameters, the expiry as the day it falls on in the portal's zone.
    ``migrated``: the member's relations came from the legacy site (the import), which the
    email's opening explains; a member added or re-sent credentials by a form was not migrated.
    """
    return queue_email(
        to=to,
        template="linking_credentials",
        language=language,
        params={
            "first_name": first_name,
            "last_name": last_name,
            "organisation_name": organisation_name,
            "organisation_client_number": organisation_client_number,
            "identifier": credential.identifier,
            "code": code,
            "expires_on": local_date(credential.expires_at),
            "intro": LINKING_INTRO_MIGRATED if migrated else LINKING_INTRO_ISSUED,
        },
        contact_id=contact_id,
        request_id=request_id,
        dedupe_key=dedupe_key,
    )
