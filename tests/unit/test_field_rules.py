"""One rule per field (forms/fields.py): what each accepts, how it normalises, what it refuses."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from marshmallow import ValidationError

from catalogue_svc.imports.fast_loader import FastLoader
from catalogue_svc.imports.schemas import SECTIONS
from forms import messages
from forms.base import FormValidationError
from forms.fields import (
    check_text,
    email_key,
    hostile,
    normalise_client_number,
    normalise_email,
    normalise_name,
    normalise_phone_number,
    normalise_postal_code,
)
from forms.registry import require


def refusal(rule, *args, **kwargs) -> list[str]:
    """The French messages a rule raises for ``args``."""
    with pytest.raises(ValidationError) as raised:
        rule(*args, **kwargs)
    return raised.value.messages  # type: ignore[return-value]


# --------------------------------------------------------------------------- hostile text


@pytest.mark.parametrize(
    "text",
    [
        "Julie\r\nVotre compte est suspendu",
        "Julie\nLévesque",
        "Julie\tLévesque",
        "Julie\x00",
        "Julie\x7f",
        "Julie\x85",  # NEL, a C1 control
        "\u202egpj.exe",  # right-to-left override
        "Julie\u202a",
        "Julie\u202c",
        "Julie\u2066x\u2069",  # isolates
        "Julie\u200e",
        "Julie\u200f",
        "Ju\u200blie",  # zero-width space
        "Ju\u200dlie",  # zero-width joiner
        "Ju\u2060lie",  # word joiner
        "\ufeffJulie",  # byte-order mark
        "Ju\u00adlie",  # soft hyphen
        "Julie\u2028Lévesque",  # line separator
        "Julie\u2029Lévesque",  # paragraph separator
        "Julie\U000e0041",  # tag character
    ],
)
def test_control_and_invisible_characters_are_refused(text):
    """A one-line text with a control, bidi or invisible character is refused, in French."""
    assert refusal(check_text, text) == [messages.HOSTILE_TEXT]


@pytest.mark.parametrize(
    "text", ["Julie", "Marie-Hélène D'Amours", "Ōtsuka 大塚", "Zoë Ångström", "Иван", "Ολγα"]
)
def test_ordinary_names_in_any_script_are_accepted(text):
    """Accents, apostrophes, hyphens and other scripts are not hostile."""
    assert check_text(text) == text


def test_multiline_text_keeps_line_feeds_only():
    """A comment may hold line feeds, not tabs nor bidi overrides."""
    assert check_text("ligne 1\nligne 2", multiline=True) == "ligne 1\nligne 2"
    assert refusal(check_text, "a\tb", multiline=True) == [messages.HOSTILE_MULTILINE_TEXT]
    assert refusal(check_text, "a\u202eb", multiline=True) == [messages.HOSTILE_MULTILINE_TEXT]


def test_every_control_and_format_character_is_hostile():
    """The hand-written class covers every Cc, Cf, Zl and Zp character of Python's Unicode."""
    missed = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp") and not hostile(chr(code))
    ]
    assert missed == []


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "stored"), [("  Julie  ", "Julie"), ("Marie-Hélène", "Marie-Hélène")]
)
def test_name_is_trimmed(text, stored):
    """A name loses its surrounding spaces."""
    assert normalise_name(text) == stored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", messages.BLANK),
        ("x" * 101, "Doit compter au plus 100 caractères."),
        ("Julie\r\nVotre compte est suspendu", messages.HOSTILE_TEXT),
    ],
)
def test_bad_name_is_refused(text, message):
    """Blank, too long (over the column's 100) or hostile: refused, saying why."""
    assert refusal(normalise_name, text) == [message]


# --------------------------------------------------------------------------- client numbers


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("4021587", "4021587"),
        ("AB-1234", "AB-1234"),
        (" ab-12 34 ", "AB-1234"),
        ("ab\u00a012", "AB12"),
        ("４０２１５８７", "4021587"),  # full-width digits
        ("12345678901234567890", "12345678901234567890"),
    ],
)
def test_client_number_forgives_case_and_spaces(typed, stored):
    """Spaces dropped, upper case: the import's digits, letters and hyphens."""
    assert normalise_client_number(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "---", "AB_12", "AB.12", "123456789012345678901", "É12", "12\u202e"]
)
def test_bad_client_number_is_refused(typed):
    """Other characters, no letter or digit, or over the column's 20: refused."""
    assert refusal(normalise_client_number, typed) == [messages.CLIENT_NUMBER]


# --------------------------------------------------------------------------- emails


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("julie@exemple.ca", "julie@exemple.ca"),
        ("  Julie.Levesque@Exemple.CA ", "julie.levesque@exemple.ca"),
        ("ｊｕｌｉｅ@ｅｘｅｍｐｌｅ.ｃａ", "julie@exemple.ca"),  # full-width
        ("julie＠exemple.ca", "julie@exemple.ca"),  # full-width at sign
        ("rene\u0301@exemple.ca", "ren\u00e9@exemple.ca"),  # NFD → NFC
        ("ren\u00e9@exemple.ca", "ren\u00e9@exemple.ca"),
        ("julie@exämple.ca", "julie@xn--exmple-cua.ca"),  # IDNA
        ("julie@xn--exmple-cua.ca", "julie@xn--exmple-cua.ca"),
        ("иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),  # one script is fine
        ("j.o+tag@sous.exemple.ca", "j.o+tag@sous.exemple.ca"),
    ],
)
def test_email_has_one_stored_form(typed, stored):
    """NFKC, lower case, the domain in IDNA ASCII: look-alike spellings are one address."""
    assert normalise_email(typed) == stored
    assert normalise_email(stored) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('"julie"@exemple.ca', messages.EMAIL_QUOTED),
        ('"ju lie"@exemple.ca', messages.EMAIL_QUOTED),
        ("ju lie@exemple.ca", messages.EMAIL_QUOTED),
        ("jul\u0456e@exemple.ca", messages.EMAIL_MIXED_SCRIPTS),  # Cyrillic і
        ("j\u043ehn@exemple.ca", messages.EMAIL_MIXED_SCRIPTS),  # Cyrillic о
        ("\u03b1lice@exemple.ca", messages.EMAIL_MIXED_SCRIPTS),  # Greek α
        ("julie@\u0435xample.ca", messages.EMAIL_MIXED_SCRIPTS),  # Cyrillic е in the domain
        ("julie@", messages.EMAIL_INVALID),
        ("@exemple.ca", messages.EMAIL_INVALID),
        ("julie", messages.EMAIL_INVALID),
        ("ju..lie@exemple.ca", messages.EMAIL_INVALID),
        ("julie@exemple", messages.EMAIL_DOMAIN),
        ("julie@-exemple.ca", messages.EMAIL_DOMAIN),
        ("julie@[127.0.0.1]", messages.EMAIL_DOMAIN),
        ("julie@xn--zz.ca", messages.EMAIL_DOMAIN),
        ("julie\r\n@exemple.ca", messages.HOSTILE_TEXT),
        ("ju\u200blie@exemple.ca", messages.HOSTILE_TEXT),
        ("j" * 64 + "@" + ("e" * 60 + ".") * 4 + "ca", messages.EMAIL_TOO_LONG),
    ],
)
def test_bad_email_is_refused(typed, message):
    """Quoted local parts, mixed Latin/Cyrillic/Greek, bad domains, hidden characters: refused."""
    assert refusal(normalise_email, typed) == [message]


def test_email_lookup_key_never_raises():
    """A lookup folds what it can (a full-width spelling finds the account) and never raises."""
    assert email_key("ＪＵＬＩＥ@exemple.ca") == "julie@exemple.ca"
    assert email_key('"Julie"@Exemple.ca') == '"julie"@exemple.ca'


# --------------------------------------------------------------------------- phones, postal codes


@pytest.mark.parametrize(
    ("typed", "code", "stored"),
    [
        ("514 555-0101", "+1", "514 555-0101"),
        ("(514) 555-0101", "+1", "514 555-0101"),
        ("1-514-555-0101", "+1", "514 555-0101"),
        ("+1 514 555 0101", "+1", "514 555-0101"),
        ("01 45 55 01 01", "+33", "0145550101"),
    ],
)
def test_phone_number_is_normalised(typed, code, stored):
    """North American numbers as 999 999-9999, others as digits."""
    assert normalise_phone_number(typed, code) == stored


@pytest.mark.parametrize(
    ("typed", "code", "message"),
    [
        ("555-0101", "+1", messages.PHONE_NANP),
        ("014 555-0101", "+1", messages.PHONE_NANP),
        ("514555010a", "+1", messages.PHONE_NANP),
        ("٥١٤٥٥٥٠١٠١", "+1", messages.PHONE_NANP),  # Arabic-Indic digits
        ("123", "+33", messages.PHONE_INTERNATIONAL),
    ],
)
def test_bad_phone_number_is_refused(typed, code, message):
    """Too few digits, a bad area code, letters or other digits: refused, saying the format."""
    assert refusal(normalise_phone_number, typed, code) == [message]


@pytest.mark.parametrize(("typed", "stored"), [("h2l1l9", "H2L 1L9"), (" H2L  1L9 ", "H2L 1L9")])
def test_postal_code_is_normalised(typed, stored):
    """A Canadian postal code is stored as A1A 1A1."""
    assert normalise_postal_code(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "D1A 1A1", "H2L 1L", "W2L 1L9"])
def test_bad_postal_code_is_refused(typed):
    """Not Canada Post's format: refused."""
    assert refusal(normalise_postal_code, typed) == [messages.POSTAL_CODE]


# --------------------------------------------------------------------------- both sides use them


def import_errors(section: str, row: dict) -> dict:
    """The import's errors for one row of ``section`` (through its fast loader)."""
    with pytest.raises(ValidationError) as raised:
        FastLoader(SECTIONS[section]()).load(row)
    return raised.value.messages  # type: ignore[return-value]


CONTACT = {"ref": "R-1", "first_name": "Julie", "last_name": "Lévesque"}


def test_import_stores_client_numbers_as_the_forms_do():
    """The import normalises a client number the way a form does."""
    loaded = FastLoader(SECTIONS["contacts"]()).load({**CONTACT, "client_number": " ab-12 34"})
    assert loaded["client_number"] == normalise_client_number(" ab-12 34") == "AB-1234"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "Julie\r\nVotre compte est suspendu", messages.HOSTILE_TEXT),
        ("last_name", "\u202eLévesque", messages.HOSTILE_TEXT),
        ("email", "j\u043ehn@exemple.ca", messages.EMAIL_MIXED_SCRIPTS),
        ("email", '"julie"@exemple.ca', messages.EMAIL_QUOTED),
        ("client_number", "AB_12", messages.CLIENT_NUMBER),
    ],
)
def test_import_refuses_what_the_forms_refuse(field, value, message):
    """A contact row gets the forms' rule and message for each field."""
    assert import_errors("contacts", {**CONTACT, field: value}) == {field: [message]}


def test_import_refuses_hostile_text_in_any_field():
    """An organisation name or an address line with CR/LF is refused by the import."""
    row = {
        "client_number": "1",
        "name": "ACME\r\nINC",
        "kind": "employer",
        "address": {"street": "1 rue\u2066 Principale", "city": "Montréal"},
    }
    assert import_errors("organisations", row) == {
        "name": [messages.HOSTILE_TEXT],
        "address": {"street": [messages.HOSTILE_TEXT]},
    }


def test_import_phones_follow_the_forms_rules():
    """The import normalises phones and refuses a bad one with the forms' message."""
    loaded = FastLoader(SECTIONS["contacts"]()).load(
        {**CONTACT, "phones": [{"type": "cellulaire", "number": "(514) 555-0101"}]}
    )
    assert loaded["phones"][0]["number"] == "514 555-0101"
    errors = import_errors(
        "contacts", {**CONTACT, "phones": [{"type": "bureau", "number": "555-0101"}]}
    )
    assert errors == {"phones": {0: {"number": [messages.PHONE_NANP]}}}


def test_import_postal_codes_follow_the_forms_rule():
    """A Canadian address's postal code is normalised; a bad one is refused."""
    address = {"street": "1 rue Principale", "city": "Montréal", "country": "Canada"}
    loaded = FastLoader(SECTIONS["contacts"]()).load(
        {**CONTACT, "address": {**address, "postal_code": "h2l1l9"}}
    )
    assert loaded["address"]["postal_code"] == "H2L 1L9"
    errors = import_errors("contacts", {**CONTACT, "address": {**address, "postal_code": "123"}})
    assert errors == {"address": {"postal_code": [messages.POSTAL_CODE]}}


def test_organisation_form_refuses_a_name_with_cr_lf():
    """update-organisation's name with CR/LF is refused by the form's own validation."""
    form = require("update-organisation")
    with pytest.raises(FormValidationError) as raised:
        form.validate({"profile_id": 1, "name": "ACME\r\nINC", "attestation": True})
    assert raised.value.errors == {"name": [messages.HOSTILE_TEXT]}
