"""Password and email rules (RELIABILITY.md S1), with French messages."""

from __future__ import annotations

import re

from forms.fields import email_key

from .common_passwords import COMMON_PASSWORDS

PASSWORD_MIN = 8
PASSWORD_MAX = 128  # long passphrases are welcome; nothing is ever truncated
LOCAL_PART_MIN = 4  # shorter local parts ("jo@…") would refuse too many good passwords

_EDGES = re.compile(r"^[^a-zà-ÿ]+|[^a-zà-ÿ]+$")


def normalise_email(email: str) -> str:
    """The stored form of an address: trimmed and lower-case (unique case-insensitively)."""
    return email_key(email)  # forms.fields: NFKC, lower case, IDNA domain, as at sign-up


def _is_common(password: str) -> bool:
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return True
    core = _EDGES.sub("", lowered)  # "Soleil2024!" -> "soleil"
    return bool(core) and core in COMMON_PASSWORDS


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Every reason ``password`` is refused (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Le mot de passe doit compter au moins {PASSWORD_MIN} caractères.")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Le mot de passe doit compter au plus {PASSWORD_MAX} caractères.")
    if password and _is_common(password):
        problems.append("Ce mot de passe est trop courant. Choisissez-en un autre.")
    if email and "@" in email:
        local = normalise_email(email).split("@", 1)[0]
        if len(local) >= LOCAL_PART_MIN and local in password.lower():
            problems.append("Le mot de passe ne doit pas contenir votre adresse courriel.")
    return problems
