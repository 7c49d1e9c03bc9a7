"""One rule for each field: text, names, client numbers, emails, phones and postal codes.

The forms (``forms.common``), the dossier import (``catalogue_svc.imports.schemas``) and the
accounts (``catalogue_svc.accounts.schemas``) all check and normalise these values here, so that a
value one of them stores is always one the others accept: a client number the import wrote can be
typed in a form, an address that signs up is the one the import and the forms compare it with.

Each rule is a plain function: it takes the typed text and returns the stored form, or raises
marshmallow's :class:`~marshmallow.ValidationError` with a French sentence. They are written for
the import's bulk path (100,000s of rows): precompiled patterns, and an ASCII fast path that skips
the Unicode work most values do not need.

The formats agree with the store's columns (``catalogue_svc/profiles/models.py``): client numbers
``String(20)``, names ``String(100)`` (organisations ``String(200)``), emails ``String(254)``.
"""

from __future__ import annotations

import re
import unicodedata

import email_validator
import idna
from marshmallow import ValidationError

from . import messages

__all__ = [
    "CLIENT_NUMBER_MAX",
    "EMAIL_MAX",
    "NAME_MAX",
    "ORGANISATION_NAME_MAX",
    "check_text",
    "email_key",
    "find_hostile",
    "hostile",
    "normalise_client_number",
    "normalise_email",
    "normalise_name",
    "normalise_phone_number",
    "normalise_postal_code",
]

CLIENT_NUMBER_MAX = 20  # organisations.client_number and contacts.client_number: String(20)
NAME_MAX = 100  # contacts.first_name / last_name, accounts' names: String(100)
ORGANISATION_NAME_MAX = 200  # organisations.name: String(200)
EMAIL_MAX = 254  # RFC 5321's path limit; every email column is String(254)
LOCAL_PART_MAX = 64

# --------------------------------------------------------------------------- hostile text

# What no one-line field may hold: control characters (Unicode Cc: CR, LF, tab, NUL, DEL, C1),
# format characters (Cf: the bidi embeddings, overrides and isolates U+202A–U+202E and
# U+2066–U+2069, the marks U+200E/U+200F, zero-width space/joiners U+200B–U+200D, word joiner,
# BOM, soft hyphen, tags…), the line and paragraph separators (Zl, Zp), and the fillers that draw
# nothing (combining grapheme joiner, Hangul fillers). A CR/LF in a first name becomes a new line,
# or a new paragraph, in the email the member receives; a bidi override makes "gpj.exe" read
# "exe.jpg". Written as one class, not a scan of categories, so that a check costs one regex
# search; tests/unit/test_field_rules.py checks that it covers every Cc, Cf, Zl and Zp character
# of the running Python's Unicode database.
_INVISIBLE = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_HOSTILE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
# A free text of several lines (a comment) keeps its line feeds; CR is dropped by the caller.
_HOSTILE_MULTILINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")


# The one-line check as a bound method, for the import's generated fast path (no call layer).
find_hostile = _HOSTILE.search


def hostile(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds a control or invisible character (``\\n`` allowed if multiline)."""
    return (_HOSTILE_MULTILINE if multiline else _HOSTILE).search(text) is not None


def check_text(text: str, *, multiline: bool = False) -> str:
    """``text`` unchanged, or a ValidationError when it holds a control or invisible character."""
    if hostile(text, multiline=multiline):
        raise ValidationError(
            messages.HOSTILE_MULTILINE_TEXT if multiline else messages.HOSTILE_TEXT
        )
    return text


# --------------------------------------------------------------------------- names


def normalise_name(text: str, *, max_length: int = NAME_MAX) -> str:
    """A person's or an organisation's name: trimmed, not blank, not too long, nothing hidden."""
    name = text.strip()
    if not name:
        raise ValidationError(messages.BLANK)
    if len(name) > max_length:
        raise ValidationError(messages.TOO_LONG.format(max_length))
    return check_text(name)


# --------------------------------------------------------------------------- client numbers

# Digits, upper-case letters and hyphens, at least one letter or digit: the import's format
# (docs/import-format.md), the forms' and the store's (String(20)).
_CLIENT_NUMBER = re.compile(r"(?=[0-9A-Z-]{1,20}\Z)-*[0-9A-Z][0-9A-Z-]*\Z")
_SPACES = re.compile(r"\s+")


def normalise_client_number(text: str) -> str:
    """``" ab-12 34 "`` → ``"AB-1234"``: spaces removed, upper case, then the one format.

    Case and spaces are forgiven as for the linking identifiers: a client number is read off a
    letter or a screen and typed again; hyphens are part of the number (``AB-12`` is not ``AB12``).
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # full-width digits typed by an IME
    compact = _SPACES.sub("", text).upper()
    if _CLIENT_NUMBER.match(compact) is None:
        raise ValidationError(messages.CLIENT_NUMBER)
    return compact


# --------------------------------------------------------------------------- emails

# The dot-atom of RFC 5322 (no quoted local part, no comments), lower case.
_ASCII_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_ASCII_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
_ASCII_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\Z"
)
# Scripts whose letters are drawn alike: a local part that mixes them is a look-alike of another
# address ("jоhn" with a Cyrillic "о"), never a real person's.
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


def _scripts(text: str) -> set[str]:
    """The confusable scripts of the letters of ``text`` (first word of each letter's name)."""
    found: set[str] = set()
    for char in text:
        if char.isascii():
            if char.isalpha():
                found.add("LATIN")
        elif char.isalpha():
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in _CONFUSABLE_SCRIPTS:
                found.add(script)
    return found


def _unicode_local_ok(local: str) -> bool:
    """A non-ASCII dot-atom: ASCII atext, letters, marks and digits of any script, single dots."""
    for atom in local.split("."):
        if not atom:
            return False
        for char in atom:
            if char in _ASCII_ATEXT:
                continue
            if char.isascii() or unicodedata.category(char)[0] not in "LMN":
                return False
    return True


def _fold(text: str) -> str:
    """NFKC then lower case: full-width letters become ASCII, NFD accents compose as NFC."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.strip().lower()


def _ascii_domain(domain: str) -> str:
    """The domain in ASCII (IDNA 2008 with the UTS 46 mapping), or a ValidationError."""
    if "xn--" in domain:
        try:  # an ASCII spelling of a Unicode domain gets the same checks as the Unicode one
            domain = idna.decode(domain)
        except (idna.IDNAError, UnicodeError):
            raise ValidationError(messages.EMAIL_DOMAIN) from None
    if not domain.isascii():
        for label in domain.split("."):
            if len(_scripts(label)) > 1:
                raise ValidationError(messages.EMAIL_MIXED_SCRIPTS)
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise ValidationError(messages.EMAIL_DOMAIN) from None
    if _ASCII_DOMAIN.match(domain) is None:
        raise ValidationError(messages.EMAIL_DOMAIN)
    return domain


def normalise_email(text: str) -> str:
    """The one stored form of an address, or a ValidationError saying what is wrong.

    NFKC and lower case (``ＪＵＬＩＥ@Exemple.ca`` is ``julie@exemple.ca``; the NFD and NFC forms
    of ``rené@…`` are one address), the domain in IDNA's ASCII form; refused: a quoted local part,
    a local part mixing Latin with Cyrillic or Greek letters, control or invisible characters.
    """
    if hostile(text):
        raise ValidationError(messages.HOSTILE_TEXT)
    email = _fold(text)
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(messages.EMAIL_INVALID)
    if local.startswith('"') or '"' in local or " " in local:
        raise ValidationError(messages.EMAIL_QUOTED)
    if len(local) > LOCAL_PART_MAX:
        raise ValidationError(messages.EMAIL_INVALID)
    if local.isascii():
        if _ASCII_LOCAL.match(local) is None:
            raise ValidationError(messages.EMAIL_INVALID)
    else:
        if not _unicode_local_ok(local):
            raise ValidationError(messages.EMAIL_INVALID)
        if len(_scripts(local)) > 1:
            raise ValidationError(messages.EMAIL_MIXED_SCRIPTS)
    ascii_domain = _ascii_domain(domain)
    email = f"{local}@{ascii_domain}"
    if len(email) > EMAIL_MAX:
        raise ValidationError(messages.EMAIL_TOO_LONG)
    _check_with_email_validator(email, ascii_domain)
    return email


# Names that never receive mail from the Internet (RFC 6761, 6762, 7686): "localhost", "local"
# (mDNS), "invalid", "arpa", "onion". "test" stays allowed (like RFC 2606's example.*), for the
# test suites' addresses; email-validator's test_environment is exactly that.
_UNDELIVERABLE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES) - {"test"}


def _check_with_email_validator(email: str, ascii_domain: str) -> None:
    """The email-validator package's syntax rules (RFC 5321/5322/6531, label lengths, IDNA),
    on top of ours; no DNS query (deliverability is the confirmation code's job).

    An all-ASCII address that passed our dot-atom and domain patterns and the length caps is one
    email-validator accepts too (tests/unit/test_email_validator.py checks they agree), so the
    import's bulk path skips its 60 µs a call there; a Unicode one always goes through it.
    """
    last_label = ascii_domain.rsplit(".", 1)[-1]
    if ascii_domain in _UNDELIVERABLE or last_label in _UNDELIVERABLE:
        raise ValidationError(messages.EMAIL_SPECIAL_DOMAIN.format(domain=ascii_domain))
    if email.isascii():
        return
    try:
        email_validator.validate_email(
            email, check_deliverability=False, test_environment=True, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError:
        raise ValidationError(messages.EMAIL_INVALID) from None


def email_key(text: str) -> str:
    """The stored form of an address for a lookup (log in, reset): never raises.

    The same folding as :func:`normalise_email`, so that a full-width or NFD spelling finds the
    account; an address that rule refuses is only folded, and finds nothing.
    """
    try:
        return normalise_email(text)
    except ValidationError:
        return _fold(text)


# --------------------------------------------------------------------------- phones

_COUNTRY_CODE = re.compile(r"\+[1-9][0-9]{0,2}\Z")
_NANP = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}\Z")
# ASCII digits: "٥١٤…" is not a number the body can dial; spaces include the no-break one.
_PHONE_CHARS = re.compile(r"[0-9\s().+-]+\Z")
_NOT_DIGIT = re.compile(r"[^0-9]")
_EXTENSION = re.compile(r"[0-9]{1,6}\Z")


def national_digits(number: str, country_code: str | None) -> str:
    """The digits of a number, without a leading ``1`` typed before a North American number."""
    digits = _NOT_DIGIT.sub("", number)
    if country_code == "+1" and len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def check_country_code(code: str) -> str:
    """``+1``, ``+33``, ``+852``: a plus and 1 to 3 digits."""
    if _COUNTRY_CODE.match(code) is None:
        raise ValidationError(messages.PHONE_COUNTRY_CODE)
    return code


def normalise_phone_number(number: str, country_code: str) -> str:
    """``(514) 555-0101`` → ``514 555-0101`` under +1 (10 digits, NANP); elsewhere the digits."""
    digits = national_digits(number, country_code)
    separators_only = _PHONE_CHARS.match(number) is not None
    if country_code == "+1":
        if not (separators_only and _NANP.match(digits)):
            raise ValidationError(messages.PHONE_NANP)
        return f"{digits[:3]} {digits[3:6]}-{digits[6:]}"
    if not (separators_only and 4 <= len(digits) <= 15):
        raise ValidationError(messages.PHONE_INTERNATIONAL)
    return digits


def check_extension(extension: str) -> str:
    """1 to 6 digits."""
    if _EXTENSION.match(extension) is None:
        raise ValidationError(messages.PHONE_EXTENSION)
    return extension


# --------------------------------------------------------------------------- postal codes

# Canada Post's letters: no D, F, I, O, Q, U anywhere, no W or Z first.
_POSTAL_CODE = re.compile(
    r"([ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z])([0-9][ABCEGHJ-NPRSTV-Z][0-9])\Z"
)


def normalise_postal_code(text: str) -> str:
    """A Canadian postal code: ``h2l1l9`` → ``H2L 1L9``."""
    match = _POSTAL_CODE.match(_SPACES.sub("", text).upper())
    if match is None:
        raise ValidationError(messages.POSTAL_CODE)
    return f"{match.group(1)} {match.group(2)}"
