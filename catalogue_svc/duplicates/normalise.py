"""The forms under which two spellings of one person compare equal (pure: no Flask, no database).

Names (:func:`normalize_name`, :func:`phonetic_key`, :func:`name_forms`), emails
(:func:`normalize_email`), phones (:func:`normalize_phone`, in E.164) and client numbers
(:func:`normalize_client_number`). Both :mod:`.blocking` (the keys) and :mod:`.matching` (the
scores) read a person through these functions only, so the stored side and the probe are always
normalised alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = [
    "NameForms",
    "name_forms",
    "normalize_client_number",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_phones",
    "phonetic_key",
]

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


def normalize_client_number(s: str | None) -> str | None:
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
    return name_forms(s).phonetic


# --------------------------------------------------------------------------- a name's forms


@dataclass(frozen=True, slots=True)
class NameForms:
    """A name part (first or last name) in the forms the keys and the scores compare."""

    spaced: str  # normalised tokens, "St" expanded to "saint"
    compact: str  # the same without spaces: D'Amours = D Amours = Damours
    phonetic: str
    multi: bool  # more than one token (compound first name, double surname)


@lru_cache(maxsize=65536)
def name_forms(raw: str) -> NameForms:
    """The forms of one name part (cached: names repeat)."""
    tokens = [_ABBREVIATIONS.get(t, t) for t in normalize_name(raw).split()]
    compact = "".join(tokens)
    return NameForms(
        " ".join(tokens), compact, _phonetic(compact) if compact else "", len(tokens) > 1
    )


def normalize_phones(raws: Iterable[str]) -> frozenset[str]:
    """The phones that parse, in E.164."""
    found = (normalize_phone(raw) for raw in raws)
    return frozenset(number for number in found if number is not None)
