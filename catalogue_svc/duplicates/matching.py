"""Find existing contacts that may be the person being added: the person compared, and the scores.

Guide: *« Si votre membre a déjà un numéro de client, inscrivez-le… Le système vérifiera s'il
existe un doublon et un agent validera l'inscription du membre. »* The pure part of that check
(no Flask, no database, no other ``catalogue_svc`` module) is three modules:

1. **Normalisation** (:mod:`.normalise`): the forms under which two spellings of one person
   compare equal.
2. **Blocking** (:mod:`.blocking`): a handful of short strings per person, so that a check
   fetches only the contacts sharing one and never scans every contact.
3. **Scoring** (here: :func:`score`, :func:`find_candidates`, :func:`client_number_mismatch`):
   each fetched contact gets a score in 0..1 and the reasons, in French, that made it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from .normalise import (
    NameForms,
    name_forms,
    normalize_client_number,
    normalize_email,
    normalize_phones,
)

__all__ = [
    "Candidate",
    "Person",
    "Reason",
    "Thresholds",
    "client_number_mismatch",
    "find_candidates",
    "score",
]


@dataclass(frozen=True)
class Person:
    """A person as typed in the form (the probe) or as stored (``contact_id`` set)."""

    first_name: str
    last_name: str
    birth_date: datetime.date | None = None
    email: str | None = None
    phones: tuple[str, ...] = ()
    client_number: str | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class Thresholds:
    """Cut-offs and evidence weights of the scorer; the score is ``logistic(sum of weights)``."""

    candidate: float = 0.72  # minimum score to report a candidate
    strong: float = 0.90  # from this score on, the candidate is "probable"
    name_min: float = 0.80  # below this name similarity, the names "clearly differ"
    differ_cap: float = 0.85  # highest score when the names clearly differ (never "probable")
    swap_margin: float = 0.05  # swapped order must beat the given order by this much
    swap_penalty: float = 0.02  # taken off the name similarity of a swapped match
    phonetic_floor: float = 0.90  # similarity of two names with the same phonetic key
    one_edit_floor: float = 0.85  # similarity of two names one typo apart (short names)
    compound_factor: float = 0.85  # "Marie-Karine" vs "Karine": token-set ratio times this
    prior: float = -1.5  # weight before any evidence
    name_center: float = 0.85  # name similarity that weighs zero
    name_scale: float = 20.0  # weight per unit of name similarity above/below the centre
    name_floor: float = -8.0  # lowest weight of the name
    dob_exact: float = 3.0
    dob_fuzzy: float = 0.5  # day/month swapped, or one digit off
    dob_different: float = -5.0
    email_exact: float = 6.0
    email_different: float = -0.5
    phone_exact: float = 5.0
    client_number_exact: float = 8.0
    client_number_different: float = -2.0


@dataclass(frozen=True)
class Reason:
    """One piece of evidence for or against a candidate, with a French explanation."""

    field: str  # "client_number" | "email" | "phone" | "name" | "birth_date"
    kind: str  # "exact" | "fuzzy" | "swapped" | "mismatch" | "different"
    detail: str
    score: float | None = None


@dataclass(frozen=True)
class Candidate:
    """A stored contact that may be the probe, with its score and the reasons for it."""

    contact_id: int
    score: float
    reasons: tuple[Reason, ...]
    level: str  # "probable" | "possible"


# --------------------------------------------------------------------------- scoring


def _part_similarity(a: NameForms, b: NameForms, t: Thresholds) -> float:
    """Similarity in 0..1 of one name part (first or last) of two persons."""
    if not a.compact or not b.compact:
        return 0.5  # unknown: neither for nor against
    if a.compact == b.compact:
        return 1.0
    sim = fuzz.ratio(a.compact, b.compact) / 100.0
    if sim < t.phonetic_floor and a.phonetic == b.phonetic:
        sim = t.phonetic_floor
    if (
        sim < t.one_edit_floor
        and min(len(a.compact), len(b.compact)) >= 3
        and OSA.distance(a.compact, b.compact, score_cutoff=1) <= 1
    ):
        sim = t.one_edit_floor
    if a.multi or b.multi:
        sim = max(sim, t.compound_factor * fuzz.token_set_ratio(a.spaced, b.spaced) / 100.0)
    return sim


def _name_similarity(
    pf: NameForms, pl: NameForms, of: NameForms, ol: NameForms, t: Thresholds
) -> tuple[float, bool]:
    """Return the best name similarity of the given and the swapped order, and whether swapped."""
    given = (_part_similarity(pf, of, t) + _part_similarity(pl, ol, t)) / 2
    if given >= 1.0:
        return 1.0, False
    swapped = (_part_similarity(pf, ol, t) + _part_similarity(pl, of, t)) / 2
    if swapped >= t.name_min and swapped >= given + t.swap_margin:
        return swapped - t.swap_penalty, True
    return given, False


def _as_typed(s: str) -> str:
    return " ".join(s.casefold().split())


def _names_equal_as_typed(a: Person, b: Person) -> bool:
    same_first = _as_typed(a.first_name) == _as_typed(b.first_name)
    return same_first and _as_typed(a.last_name) == _as_typed(b.last_name)


def _percent(x: float) -> str:
    return f"{round(x * 100)} %"


def _name_reason(probe: Person, other: Person, sim: float, swapped: bool, t: Thresholds) -> Reason:
    if swapped:
        detail = "Prénom et nom inversés"
        if sim < 1.0 - t.swap_penalty:
            detail += f", nom semblable ({_percent(sim)})"
        return Reason("name", "swapped", detail, round(sim, 2))
    if sim >= 1.0:
        detail = "Même nom"
        if not _names_equal_as_typed(probe, other):
            detail += " (à l'orthographe près : accents, traits d'union, apostrophes)"
        return Reason("name", "exact", detail, 1.0)
    if sim >= t.name_min:
        return Reason("name", "fuzzy", f"Nom semblable ({_percent(sim)})", round(sim, 2))
    return Reason("name", "different", f"Nom différent ({_percent(sim)})", round(sim, 2))


def _birth_date_relation(a: datetime.date, b: datetime.date) -> str | None:
    """Return "exact", "day_month", "one_digit" or None (different) for two birth dates."""
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "day_month"
    # ISO forms of years 1000-9999 align digit by digit (strftime is ten times slower).
    if sum(x != y for x, y in zip(a.isoformat(), b.isoformat(), strict=False)) == 1:
        return "one_digit"
    return None


def _logistic(weight: float) -> float:
    return 1.0 / (1.0 + math.exp(-weight))


def _contact_evidence(probe: Person, other: Person, t: Thresholds) -> tuple[float, list[Reason]]:
    """Weigh the email and the phones."""
    weight, reasons = 0.0, []
    email_probe, email_other = normalize_email(probe.email), normalize_email(other.email)
    if email_probe is not None and email_probe == email_other:
        weight += t.email_exact
        reasons.append(Reason("email", "exact", "Même courriel", 1.0))
    elif email_probe is not None and email_other is not None:
        weight += t.email_different
        reasons.append(Reason("email", "different", "Courriel différent", 0.0))
    shared_phones = normalize_phones(probe.phones) & normalize_phones(other.phones)
    if shared_phones:
        weight += t.phone_exact
        numbers = ", ".join(sorted(shared_phones))
        reasons.append(Reason("phone", "exact", f"Même numéro de téléphone ({numbers})", 1.0))
    return weight, reasons


def _birth_date_evidence(
    a: datetime.date | None, b: datetime.date | None, t: Thresholds
) -> tuple[float, Reason | None]:
    """Weigh the birth dates; nothing when one is unknown."""
    if a is None or b is None:
        return 0.0, None
    relation = _birth_date_relation(a, b)
    if relation == "exact":
        return t.dob_exact, Reason("birth_date", "exact", "Même date de naissance", 1.0)
    if relation is None:
        detail = "Date de naissance différente"
        return t.dob_different, Reason("birth_date", "different", detail, 0.0)
    how = "jour et mois inversés" if relation == "day_month" else "un chiffre diffère"
    detail = f"Date de naissance semblable ({how})"
    return t.dob_fuzzy, Reason("birth_date", "fuzzy", detail, 0.5)


def score(probe: Person, other: Person, thresholds: Thresholds = Thresholds()) -> Candidate | None:
    """Score a stored contact against the probe; None when below ``thresholds.candidate``."""
    if other.contact_id is None:
        raise ValueError("score() compares the probe with a stored contact: contact_id is needed")
    t = thresholds
    name_sim, swapped = _name_similarity(
        name_forms(probe.first_name),
        name_forms(probe.last_name),
        name_forms(other.first_name),
        name_forms(other.last_name),
        t,
    )
    names_differ = name_sim < t.name_min
    weight = t.prior + max(t.name_floor, t.name_scale * (name_sim - t.name_center))
    reasons: list[Reason] = []

    cn_probe = normalize_client_number(probe.client_number)
    cn_other = normalize_client_number(other.client_number)
    same_client_number = cn_probe is not None and cn_probe == cn_other
    if same_client_number:
        weight += t.client_number_exact
        reasons.append(
            _mismatch_reason(name_sim)
            if names_differ
            else Reason("client_number", "exact", "Même numéro de client", 1.0)
        )
    elif cn_probe is not None and cn_other is not None:
        weight += t.client_number_different
        reasons.append(Reason("client_number", "different", "Numéro de client différent", 0.0))

    contact_weight, contact_reasons = _contact_evidence(probe, other, t)
    weight += contact_weight
    reasons += contact_reasons
    reasons.append(_name_reason(probe, other, name_sim, swapped, t))
    dob_weight, dob_reason = _birth_date_evidence(probe.birth_date, other.birth_date, t)
    weight += dob_weight
    if dob_reason is not None:
        reasons.append(dob_reason)

    value = _logistic(weight)
    if names_differ:
        value = min(value, t.differ_cap)
        if same_client_number:
            # A client number held by someone else: an agent must look, whatever the rest says.
            value = max(value, t.candidate)
    value = round(value, 4)
    if value < t.candidate:
        return None
    level = "probable" if value >= t.strong else "possible"
    return Candidate(other.contact_id, value, tuple(reasons), level)


def _mismatch_reason(name_sim: float) -> Reason:
    detail = (
        "Le numéro de client appartient à une personne dont le nom ne correspond pas "
        f"(similarité des noms : {_percent(name_sim)})"
    )
    return Reason("client_number", "mismatch", detail, round(name_sim, 2))


def client_number_mismatch(
    probe: Person, owner: Person, thresholds: Thresholds = Thresholds()
) -> Reason | None:
    """Return a "mismatch" reason when the probe's client number is owner's but the names differ."""
    cn_probe = normalize_client_number(probe.client_number)
    if cn_probe is None or cn_probe != normalize_client_number(owner.client_number):
        return None
    name_sim, _ = _name_similarity(
        name_forms(probe.first_name),
        name_forms(probe.last_name),
        name_forms(owner.first_name),
        name_forms(owner.last_name),
        thresholds,
    )
    return _mismatch_reason(name_sim) if name_sim < thresholds.name_min else None


def find_candidates(
    probe: Person,
    others: Iterable[Person],
    thresholds: Thresholds = Thresholds(),
    limit: int = 10,
) -> list[Candidate]:
    """Score every fetched contact; return the best ``limit``, by score then contact_id."""
    best: dict[int, Candidate] = {}
    for other in others:
        if probe.contact_id is not None and other.contact_id == probe.contact_id:
            continue  # an existing contact is not its own duplicate
        candidate = score(probe, other, thresholds)
        if candidate is None:
            continue
        known = best.get(candidate.contact_id)
        if known is None or candidate.score > known.score:
            best[candidate.contact_id] = candidate
    ranked = sorted(best.values(), key=lambda c: (-c.score, c.contact_id))
    return ranked[: max(limit, 0)]
