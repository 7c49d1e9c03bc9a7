"""Find existing contacts that may be the person being added: normalisation, blocking and scoring.

Guide: *« Si votre membre a déjà un numéro de client, inscrivez-le… Le système vérifiera s'il
existe un doublon et un agent validera l'inscription du membre. »* This module holds the pure part
of that check (no Flask, no database, no other ``catalogue_svc`` module):

1. **Normalisation** (:func:`normalize_name`, :func:`normalize_email`, :func:`normalize_phone`,
   :func:`phonetic_key`): the forms under which two spellings of one person compare equal.
2. **Blocking** (:func:`blocking_keys`): a handful of short strings per person. The database layer
   stores them for every contact in ``contact_match_keys(contact_id, key)`` (indexed on ``key``),
   computes them for the probe, and fetches only the contacts that share at least one key, so a
   check never scans every contact (PERFORMANCE.md, item 5).
3. **Scoring** (:func:`score`, :func:`find_candidates`, :func:`client_number_mismatch`): each
   fetched contact gets a score in 0..1 and the reasons, in French, that made it.

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

import datetime
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

__all__ = [
    "Candidate",
    "Person",
    "Reason",
    "Thresholds",
    "blocking_keys",
    "client_number_mismatch",
    "find_candidates",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "phonetic_key",
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


# --------------------------------------------------------------------------- normalisation

# Letters that Unicode does not decompose into a base letter plus accents.
_TRANSLITERATE = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
# Québec surnames abbreviate "Saint": St-Pierre = Saint-Pierre, Ste-Marie = Sainte-Marie.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


_ASCII_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _normalize_once(s: str) -> str:
    if s.isascii():  # the common case, and a fixed point of the general path
        return _ASCII_NOT_ALNUM.sub(" ", s.lower()).strip()
    text = unicodedata.normalize("NFKD", s)
    text = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    kept = (
        ch if ch.isalnum() else " "
        for ch in text
        if not unicodedata.category(ch).startswith("M")  # accents and other combining marks
    )
    return " ".join("".join(kept).split())


def normalize_name(s: str) -> str:
    """Casefold, strip accents, turn punctuation (hyphens, apostrophes, dots) into single spaces."""
    # casefold and NFKD can each produce what the other changes (U+210C, a black-letter H, gives
    # "H" then "h"): iterate to a fixed point, which makes the function idempotent.
    result = _normalize_once(s)
    for _ in range(3):
        if result.isascii():
            break
        again = _normalize_once(result)
        if again == result:
            break
        result = again
    return result


def normalize_email(s: str | None) -> str | None:
    """Return the trimmed, lower-cased email, or None when blank."""
    if s is None:
        return None
    email = s.strip().lower()
    return email or None


_EXTENSION = re.compile(r"\s*(?:poste|post|p\.|ext\.?|x|#)\s*\d+\s*$", re.IGNORECASE)


def normalize_phone(s: str | None, region: str = "CA") -> str | None:
    """Return the number in E.164 ("+15145551234"), ignoring any extension; None if unparsable."""
    if s is None or not s.strip():
        return None
    return _e164(s.strip(), region)


_NANP_REGIONS = frozenset({"CA", "US"})
# A North American number as usually typed: (+)1, area code, exchange, line, common separators.
_NANP_NUMBER = re.compile(r"(?:\+?1[\s.-]*)?\(?([2-9]\d\d)\)?[\s.-]*([2-9]\d\d)[\s.-]*(\d{4})")


@lru_cache(maxsize=65536)
def _e164(raw: str, region: str) -> str | None:
    # phonenumbers reads the letters of "poste 22" as a keypad number: drop the extension first.
    text = _EXTENSION.sub("", raw)
    if region in _NANP_REGIONS or text.startswith("+1"):
        # Fast path (~1 µs instead of ~50): the answer phonenumbers gives for these shapes.
        match = _NANP_NUMBER.fullmatch(text)
        if match is not None:
            return "+1" + "".join(match.groups())
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # IS_POSSIBLE only: a 7-digit local number has no area code and would give a wrong E.164.
    if phonenumbers.is_possible_number_with_reason(number) != (
        phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def _normalize_client_number(s: str | None) -> str | None:
    """The client number as compared: letters and digits only, upper case; an all-digit
    number without its leading zeros. Client numbers hold letters and hyphens
    (``forms.fields.normalise_client_number``): "AB-77" and "77" are different people, while
    "123-456", "123 456" and "00123456" are the same number typed three ways."""
    if not s:
        return None
    compact = _NOT_ALNUM.sub("", s.upper())
    if not compact:
        return None
    return (compact.lstrip("0") or "0") if compact.isdigit() else compact


# --------------------------------------------------------------------------- phonetic key

_NOT_ASCII_LETTER = re.compile(r"[^a-z]+")
_DOUBLE = re.compile(r"(.)\1+")
_FINAL_EAU = re.compile(r"(?:e?aux?|e?aults?)$")
_FINAL_E_SOUND = re.compile(r"(?:er|ez|et|ai|ay|ei|ey)$")
# Rewrites in one left-to-right pass, the first alternative that matches winning: lower-case
# letters in, upper-case phonemes out; letters that no rule matches are kept.
_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    (r"ph", "F"),
    (r"th", "T"),
    (r"s?ch|sh", "X"),
    (r"c?qu|q|ck", "K"),
    (r"c(?=[eiy])", "S"),
    (r"c", "K"),
    (r"gu(?=[eiy])", "G"),
    (r"g(?=[eiy])", "J"),
    (r"gn", "N"),
    (r"h", ""),
    (r"w", "V"),
    (r"x", "KS"),
    (r"z", "S"),
    (r"eau|au", "O"),
    (r"oi|oy", "WA"),
    (r"ou|oo", "U"),
    (r"(?:ain|ein|aim|eim|in|im|yn|ym|un|um)(?![aeiouy])", "IN"),
    (r"(?:an|am|en|em)(?![aeiouy])", "AN"),
    (r"(?:on|om)(?![aeiouy])", "ON"),
    (r"ai|ei|ay|ey", "E"),
    (r"y", "I"),
)
_PHONETIC_PATTERN = re.compile("|".join(f"({pattern})" for pattern, _ in _PHONETIC_RULES))
_PHONETIC_OUTPUT = ("", *(replacement for _, replacement in _PHONETIC_RULES))


def _phoneme(match: re.Match[str]) -> str:
    return _PHONETIC_OUTPUT[match.lastindex or 0]


def _strip_silent_ending(s: str) -> str:
    """Drop the letters French does not pronounce at the end of a name, keeping two at least."""
    if len(s) > 4:
        s = _FINAL_EAU.sub("O", s)
    # An e-sound ending counts only where it ends the name as written: Gauthier, Tremblay,
    # Ouellet; not the "er" left of Lambert or Pierre once their silent letters are gone.
    match = _FINAL_E_SOUND.search(s)
    if match is not None and match.start() >= 2:
        s = s[: match.start()]
    for _ in range(3):
        before = s
        if len(s) > 2 and s[-1] in "sxz":
            s = s[:-1]
        if len(s) > 2 and s[-1] in "tdp":
            s = s[:-1]
        if len(s) > 2 and s[-1] == "e":
            s = s[:-1]
        if s == before:
            break
    return s


@lru_cache(maxsize=65536)
def _phonetic(compact: str) -> str:
    letters = _NOT_ASCII_LETTER.sub("", compact)
    if not letters:
        return compact.upper()  # no Latin letter: the name itself is the best key
    s = _PHONETIC_PATTERN.sub(_phoneme, _strip_silent_ending(_DOUBLE.sub(r"\1", letters)))
    return _DOUBLE.sub(r"\1", s.upper()) or letters.upper()


def phonetic_key(s: str) -> str:
    """Return a French phonetic code of a name ("Thibault", "Thibeault", "Thibaud" → "TIBO").

    A small "phonex"-like code written for Québec names, applied to the normalised name without
    spaces ("Marie Karine" and "Marie-Karine" share one code):

    1. keep the letters a-z, collapse double letters;
    2. drop silent endings: ``-eau(x)``/``-ault`` → O; a written e-sound ending (``-er``, ``-ez``,
       ``-et``, ``-ai``, ``-ay``, ``-ei``, ``-ey``); then, repeatedly, a final s/x/z, t/d/p and
       mute e, so that Tremblay = Tremblé = Trambley, Ouellet = Ouellette, Côté = Cote;
    3. in one left-to-right pass, the first matching rule winning: ph → F, th → T, (s)ch/sh → X,
       (c)qu/q/ck → K, c before e/i/y → S, else K, gu before e/i/y → G, g before e/i/y → J,
       gn → N, h silent, w → V, x → KS, z → S; (e)au → O, oi/oy → WA, ou → U, nasals (in/ain/
       ein/un… → IN, an/en/am/em → AN, on/om → ON) when no vowel follows, ai/ei/ay/ey → E, y → I;
    4. upper-case, collapse repeated phonemes.

    "St"/"Ste" read as "Saint"/"Sainte"; a name without any Latin letter keeps its normalised form.
    """
    return _name(s).phonetic


# --------------------------------------------------------------------------- features


@dataclass(frozen=True, slots=True)
class _Name:
    spaced: str  # normalised tokens, "St" expanded to "saint"
    compact: str  # the same without spaces: D'Amours = D Amours = Damours
    phonetic: str
    multi: bool  # more than one token (compound first name, double surname)


@lru_cache(maxsize=65536)
def _name(raw: str) -> _Name:
    tokens = [_ABBREVIATIONS.get(t, t) for t in normalize_name(raw).split()]
    compact = "".join(tokens)
    return _Name(" ".join(tokens), compact, _phonetic(compact) if compact else "", len(tokens) > 1)


def _phones(p: Person) -> frozenset[str]:
    found = (normalize_phone(raw) for raw in p.phones)
    return frozenset(number for number in found if number is not None)


# --------------------------------------------------------------------------- blocking

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
    client_number = _normalize_client_number(p.client_number)
    if client_number is not None:
        keys.append(f"cn:{client_number}")
    email = normalize_email(p.email)
    if email is not None:
        keys.append(f"em:{email}")
    keys.extend(f"ph:{number}" for number in _phones(p))

    first, last = _name(p.first_name), _name(p.last_name)
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


# --------------------------------------------------------------------------- scoring


def _part_similarity(a: _Name, b: _Name, t: Thresholds) -> float:
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
    pf: _Name, pl: _Name, of: _Name, ol: _Name, t: Thresholds
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
    shared_phones = _phones(probe) & _phones(other)
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
        _name(probe.first_name),
        _name(probe.last_name),
        _name(other.first_name),
        _name(other.last_name),
        t,
    )
    names_differ = name_sim < t.name_min
    weight = t.prior + max(t.name_floor, t.name_scale * (name_sim - t.name_center))
    reasons: list[Reason] = []

    cn_probe = _normalize_client_number(probe.client_number)
    cn_other = _normalize_client_number(other.client_number)
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
    cn_probe = _normalize_client_number(probe.client_number)
    if cn_probe is None or cn_probe != _normalize_client_number(owner.client_number):
        return None
    name_sim, _ = _name_similarity(
        _name(probe.first_name),
        _name(probe.last_name),
        _name(owner.first_name),
        _name(owner.last_name),
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
