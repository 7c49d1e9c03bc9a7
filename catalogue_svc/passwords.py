"""Argon2id hashing of passwords and codes (RELIABILITY.md S1, S2)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, t=3, m=64 MiB, p=4


@functools.cache
def _dummy(hasher: PasswordHasher) -> str:
    """A hash of nothing anyone knows, made with ``hasher``'s cost, checked when there is no
    stored hash. Made at the first such check, not at import: every process (each worker, each
    command) would otherwise spend one full hash starting."""
    return hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Check ``password``; with no stored hash, spend the same time and answer False."""
    try:
        return _hasher.verify(stored or _dummy(_hasher), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than the current policy."""
    return _hasher.check_needs_rehash(stored)


def hash_code(code: str, pepper: str) -> str:
    """A keyed hash of a short one-time code (fast: codes are short-lived and try-limited)."""
    return hmac.new(pepper.encode(), code.encode(), hashlib.sha256).hexdigest()


def code_matches(stored: str, code: str, pepper: str) -> bool:
    """Constant-time comparison of a code with its stored keyed hash."""
    return hmac.compare_digest(stored, hash_code(code, pepper))


def numeric_code(digits: int = 6) -> str:
    """A random numeric code from ``secrets``."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"
