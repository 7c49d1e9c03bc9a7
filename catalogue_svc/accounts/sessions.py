"""Server-side sessions, the caller's identity and CSRF protection (RELIABILITY.md S5, S6).

What the rest of the service uses::

    from catalogue_svc.accounts.sessions import current_account, require_account, require_agent

    account = require_account()        # the logged-in Account, or 401
    agent = require_agent()            # 401 when anonymous, 403 when not an agent
    maybe = current_account()          # Account | None

or the decorators ``@account_required`` / ``@agent_required``, placed right under ``@blp.route``
(so that they run before the arguments are parsed).

The cookie holds a random token; the database keeps only its SHA-256 (``AccountSession.id``).
Every state-changing call under ``/api/`` must carry ``X-CSRF-Token``: the session's token once
logged in, else an anonymous token derived (HMAC) from the cookie's token; ``GET /api/session``
hands out the right one and sets an anonymous cookie when there is none. The hook lives in
:func:`init_app`, so every blueprint is covered without doing anything.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, has_request_context, request
from sqlalchemy import String, bindparam, select, update

from .. import audit
from ..clock import now
from ..db import compare_and_set, db
from ..errors import Forbidden, Unauthorized
from .models import Account, AccountSession

log = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

LOGIN_REQUIRED = "Connectez-vous pour continuer."
SESSION_ENDED = "Votre session a pris fin. Connectez-vous de nouveau."
AGENTS_ONLY = "Cette action est réservée aux agents."
CSRF_REFUSED = "Jeton CSRF manquant ou invalide. Rechargez la page et réessayez."

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _State:
    token: str | None  # the cookie's token, if it has a plausible shape
    row: AccountSession | None  # the session row the token names, whatever its state
    session: AccountSession | None  # that row if it is valid now
    account: Account | None


def cookie_name() -> str:
    """The session cookie's name (``SESSION_COOKIE_NAME``)."""
    return str(current_app.config["SESSION_COOKIE_NAME"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _anonymous_csrf(token: str) -> str:
    key = str(current_app.config["CATALOGUE_SETTINGS"].secret_key).encode()
    return hmac.new(key, b"csrf-anonymous\x00" + token.encode(), hashlib.sha256).hexdigest()


def _settings() -> Any:
    return current_app.config["CATALOGUE_SETTINGS"]


def _end_reason(row: AccountSession, at: dt.datetime) -> str | None:
    """Why ``row`` is no longer valid at ``at`` (None when it still is)."""
    if row.revoked_at is not None:
        return row.revoked_reason or "revoked"
    if at >= row.expires_at:
        return "absolute"
    if at - row.last_seen_at >= dt.timedelta(seconds=_settings().session_idle_seconds):
        return "idle"
    return None


@functools.cache
def _session_query() -> Any:
    """The session row and its account in one round trip (the account is unused when the
    session has ended); built once, as every API call runs it."""
    return (
        select(AccountSession, Account)
        .outerjoin(Account, Account.id == AccountSession.account_id)
        .where(AccountSession.id == bindparam("session_id", type_=String()))
        .execution_options(populate_existing=True)
    )


def _load() -> _State:
    raw = request.cookies.get(cookie_name())
    token = raw if raw and _TOKEN_SHAPE.match(raw) else None
    if token is None:
        return _State(None, None, None, None)
    found = db.session.execute(_session_query(), {"session_id": _digest(token)}).first()
    if found is None:
        return _State(token, None, None, None)
    row, account = found
    at = now()
    reason = _end_reason(row, at)
    if reason is not None:
        if row.revoked_at is None:
            # Record that the timeout ended it (once: compare-and-set).
            compare_and_set(
                AccountSession,
                row.id,
                {"revoked_at": None},
                {"revoked_at": at, "revoked_reason": reason},
            )
            db.session.commit()
        return _State(token, row, None, None)
    if account is None or account.verified_at is None:
        return _State(token, row, None, None)
    idle = _settings().session_idle_seconds
    if (at - row.last_seen_at).total_seconds() >= max(1, min(60, idle // 20)):
        # Throttled, so that reads do not all write; precise enough for a 30-minute timeout.
        db.session.execute(
            update(AccountSession)
            .where(AccountSession.id == row.id, AccountSession.revoked_at.is_(None))
            .values(last_seen_at=at)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        row.last_seen_at = at
    return _State(token, row, row, account)


def _scope() -> dict[str, Any]:
    # Per request, not on ``g``: ``g`` belongs to the app context, which a test that already
    # pushed one shares between all its requests.
    return cast(dict[str, Any], request.environ.setdefault("catalogue.accounts", {}))


def _set_state(state: _State) -> None:
    _scope()["state"] = state


def _set_cookie(token: str) -> None:
    """Schedule the session cookie (``""`` deletes it) for a successful response."""
    _scope()["cookie"] = token


def _state() -> _State:
    scope = _scope()
    if "state" not in scope:
        scope["state"] = _load()
    return cast(_State, scope["state"])


# ---------------------------------------------------------------- the caller


def current_account() -> Account | None:
    """The logged-in account of this request, or None."""
    if not has_request_context():
        return None
    return _state().account


def current_session() -> AccountSession | None:
    """The valid session of this request, or None."""
    if not has_request_context():
        return None
    return _state().session


def require_account() -> Account:
    """The logged-in account; raises Unauthorized (401) otherwise."""
    state = _state()
    if state.account is None:
        raise Unauthorized(SESSION_ENDED if state.row is not None else LOGIN_REQUIRED)
    return state.account


def require_agent() -> Account:
    """The logged-in agent; 401 when anonymous, 403 for an account that is not an agent."""
    account = require_account()
    if not account.is_agent:
        audit.record(
            "authorization.denied",
            "failure",
            actor_account_id=account.id,
            actor_kind="account",
            details={"path": request.path, "needs": "agent"},
        )
        db.session.commit()
        raise Forbidden(AGENTS_ONLY)
    return account


def guarded(view: F, check: Callable[[], object]) -> F:
    """``view``, which runs only once ``check()`` has passed (it raises the 401 or 403)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def account_required(view: F) -> F:
    """Decorator: the view runs only for a logged-in account (401 otherwise)."""
    return guarded(view, require_account)


def agent_required(view: F) -> F:
    """Decorator: the view runs only for an agent (401 / 403 otherwise)."""
    return guarded(view, require_agent)


def csrf_token() -> str:
    """The token this caller must send in ``X-CSRF-Token`` (sets an anonymous cookie if none)."""
    state = _state()
    if state.session is not None:
        return state.session.csrf_token
    if state.token is None or state.row is not None:
        # No cookie, or one naming an ended session: start afresh with an anonymous token.
        token = secrets.token_urlsafe(32)
        _set_state(_State(token, None, None, None))
        _set_cookie(token)
        return _anonymous_csrf(token)
    return _anonymous_csrf(state.token)


# ---------------------------------------------------------------- opening and ending


def _new_row(
    account_id: int, *, csrf: str, expires_at: dt.datetime, created_at: dt.datetime | None = None
) -> tuple[str, AccountSession]:
    token = secrets.token_urlsafe(32)
    at = now()
    row = AccountSession(
        id=_digest(token),
        account_id=account_id,
        csrf_token=csrf,
        created_at=created_at or at,
        last_seen_at=at,
        expires_at=expires_at,
        ip=audit.client_ip(),
    )
    db.session.add(row)
    if has_request_context():
        _set_cookie(token)
    return token, row


def _revoke(row: AccountSession, reason: str) -> bool:
    return compare_and_set(
        AccountSession,
        row.id,
        {"revoked_at": None},
        {"revoked_at": now(), "revoked_reason": reason},
    )


def open_session(account: Account) -> tuple[str, AccountSession]:
    """Log ``account`` in, in the caller's transaction: a new session id and CSRF token (any
    session this browser had is ended); the cookie is set on the response once it succeeds.
    Returns the clear token (for the cookie only) and the row."""
    state = _state() if has_request_context() else None
    if state is not None and state.session is not None:
        _revoke(state.session, "replaced")
    token, row = _new_row(
        account.id,
        csrf=secrets.token_urlsafe(32),
        expires_at=now() + dt.timedelta(seconds=_settings().session_absolute_seconds),
    )
    if has_request_context():
        _set_state(_State(token, row, row, account))
    return token, row


def rotate_session() -> AccountSession | None:
    """Give the current session a new id (after a privilege change such as linking), keeping
    its CSRF token and absolute timeout. In the caller's transaction."""
    state = _state()
    if state.session is None or state.account is None:
        return None
    old = state.session
    _revoke(old, "rotated")
    token, row = _new_row(
        old.account_id, csrf=old.csrf_token, expires_at=old.expires_at, created_at=old.created_at
    )
    _set_state(_State(token, row, row, state.account))
    return row


def close_session() -> AccountSession | None:
    """Log out: revoke the current session (in the caller's transaction) and drop the cookie."""
    state = _state()
    if state.session is None:
        return None
    _revoke(state.session, "logout")
    _set_cookie("")
    _set_state(_State(None, state.row, None, None))
    return state.session


def revoke_all(account_id: int, reason: str, *, keep: str | None = None) -> int:
    """End every session of an account (password reset, email change…) but ``keep`` (a session
    id), in the caller's transaction; the count ended."""
    query = update(AccountSession).where(
        AccountSession.account_id == account_id, AccountSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AccountSession.id != keep)
    result = db.session.execute(
        query.values(revoked_at=now(), revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- hooks


def _expected_csrf(state: _State) -> str | None:
    if state.token is None:
        return None
    if state.row is not None:
        # Also for an ended session: the caller proved it read our answer, and is then
        # anonymous, so the endpoint (not the CSRF check) answers 401.
        return state.row.csrf_token
    return _anonymous_csrf(state.token)


def _before_request() -> None:
    if not request.path.startswith("/api/"):
        return
    # Resolved first thing: the touch and timeout bookkeeping commit before any view work.
    state = _state()
    if request.method in SAFE_METHODS:
        return
    expected = _expected_csrf(state)
    sent = request.headers.get(CSRF_HEADER, "")
    if expected is not None and sent and hmac.compare_digest(sent.encode(), expected.encode()):
        return
    audit.record(
        "csrf.rejected",
        "failure",
        actor_account_id=state.account.id if state.account else None,
        actor_kind="account" if state.account else "anonymous",
        details={
            "method": request.method,
            "path": request.path[:200],
            "reason": "missing" if not sent else "mismatch",
        },
    )
    db.session.commit()
    raise Forbidden(CSRF_REFUSED)


def _write_cookie(response: Response) -> Response:
    token = _scope().pop("cookie", None)
    if request.path == "/api/session":
        response.headers["Cache-Control"] = "no-store"  # it carries the CSRF token
    if token is None or response.status_code >= 400:
        return response
    secure = not _settings().embedded
    if token:
        response.set_cookie(
            cookie_name(), token, httponly=True, secure=secure, samesite="Lax", path="/"
        )
    else:
        response.delete_cookie(
            cookie_name(), httponly=True, secure=secure, samesite="Lax", path="/"
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Check the CSRF token of every state-changing API call; write session cookies."""
    app.before_request(_before_request)
    app.after_request(_write_cookie)
