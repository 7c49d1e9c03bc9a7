"""Blocking: the handful of short keys per person that a duplicate check looks up (pure: no Flask,
no database).

The database layer (:mod:`.keys`) stores them for every contact in
``contact_match_keys(contact_id, key)`` (indexed on ``key``), computes them for the probe, and
fetches only the contacts that share at least one key, so a check never scans every contact
(PERFORMANCE.md, item 5); :mod:`.matching` then scores the contacts fetched.

Keys (each prefixed by its kind; the same function serves the stored side and the probe, so every
kind is symmetric under a swap of first and last name):

``cn:<client number>``
    client number, letters and digits only, upper case; an all-digit one without leading zeros
    (a change of this rule needs ``flask reindex-duplicates``).
``em:<email>`` / ``ph:<E.164>``
    lower-cased email; every phone in E.164.
``nm:<v>|<phonetic key of the other name>``
    for each order (last, first) and (first, last): ``v`` runs over the *one-deletion
    neighbourhood* of the first seven letters of the compact name (``"trembla"`` → ``rembla``,
    ``tembla``, ``trmbla``, ``trebla``, ``tremla``, ``tremba``, ``trembl``). Any single typo
    (substitution, insertion, deletion, transposition) anywhere in one of the two names leaves
    one ``v`` in common, while the other name is untouched and keeps its phonetic key; accents,
    hyphens, apostrophes and spaces vanish in the normalisation; a swap exchanges the two orders.
    Pairing a surname with the *phonetic first name* (not an initial) keeps a Tremblay block to
    the Tremblay persons with a similar first name, not every Tremblay M; seven letters, not
    four, keep Marie-Ève, Marie-Claude and Mario apart.
``ph3:<phonetic key of one name>|<birth date>``
    for each of the two names: with a birth date, any change of one name, even a rewrite
    ("Marie-Karine" → "Karine"), keeps the other name's key.
``dob:<birth date>|<sorted initials>``
    survives a typo in both names (but not in their first letters).
``nx:<raw name>``
    only when neither name has a letter or digit, so that every non-blank name has a key.
"""

from __future__ import annotations

from functools import lru_cache

from .matching import Person
from .normalise import name_forms, normalize_client_number, normalize_email, normalize_phones

__all__ = ["blocking_keys", "same_name_key"]

_WINDOW = 7  # letters of a name whose one-deletion neighbourhood makes the "nm:" keys


def _deletion_neighbourhood(s: str) -> set[str]:
    head = s[:_WINDOW]
    variants = {head[: _WINDOW - 1]}
    if len(head) > 1:
        variants.update(head[:i] + head[i + 1 :] for i in range(len(head)))
    return variants


@lru_cache(maxsize=65536)
def _name_keys(compact: str) -> tuple[str, ...]:
    """``nm:<v>|`` for each ``v`` of the name's one-deletion neighbourhood (names repeat: a few
    hundred first names, a few thousand surnames; built once each)."""
    return tuple(f"nm:{v}|" for v in sorted(_deletion_neighbourhood(compact)))


def blocking_keys(p: Person) -> set[str]:
    """Return the keys stored for a contact and looked up for a probe (see the module docstring)."""
    keys: list[str] = []
    client_number = normalize_client_number(p.client_number)
    if client_number is not None:
        keys.append(f"cn:{client_number}")
    email = normalize_email(p.email)
    if email is not None:
        keys.append(f"em:{email}")
    keys.extend(f"ph:{number}" for number in normalize_phones(p.phones))

    first, last = name_forms(p.first_name), name_forms(p.last_name)
    for this, other in ((last, first), (first, last)):
        if this.compact:
            keys.extend([prefix + other.phonetic for prefix in _name_keys(this.compact)])
    if p.birth_date is not None:
        born = p.birth_date.isoformat()
        keys.extend(f"ph3:{n.phonetic}|{born}" for n in (first, last) if n.compact)
        if first.compact or last.compact:
            initials = sorted((first.compact[:1] or "_", last.compact[:1] or "_"))
            keys.append(f"dob:{born}|{''.join(initials)}")
    if not first.compact and not last.compact:
        raw = " ".join(f"{p.first_name} {p.last_name}".casefold().split())
        if raw:
            keys.append(f"nx:{raw}")
    return set(keys)


def same_name_key(p: Person) -> str | None:
    """The one ``nm:`` key that every person named as ``p`` holds, whatever else differs: the
    first six letters of the compact last name (one of its one-deletion variants: the window
    without its seventh letter) with the phonetic first name. Two names equal after
    ``normalise.normalize_name`` have the same forms, hence this key; None without a last name."""
    last = name_forms(p.last_name)
    if not last.compact:
        return None
    return f"nm:{last.compact[: _WINDOW - 1]}|{name_forms(p.first_name).phonetic}"
