"""Every default message of marshmallow has its French text; email-validator agrees with ours."""

from __future__ import annotations

import inspect
import string

import email_validator
import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, validate

from forms.fields import normalise_email
from forms.messages import translate

SAMPLE = {
    "input": "x",
    "obj_type": "datetime",
    "awareness": "aware",
    "choices": "a, b",
    "values": "a, b",
    "other": "3",
    "min": "1",
    "max": "5",
    "equal": "3",
}


def _field_messages() -> list[str]:
    """Every default error message of every marshmallow field, its placeholders filled."""
    found = set()
    for _, cls in inspect.getmembers(fields, inspect.isclass):
        if issubclass(cls, fields.Field):
            for template in getattr(cls, "default_error_messages", {}).values():
                found.add(template.format(**SAMPLE))
    found |= {"Not a valid naive datetime.", "Not a valid aware time.", "Not a valid time."}
    return sorted(found)


def _raised(validator: validate.Validator, value: object) -> str:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return str(caught.value.messages[0])


def _validator_messages() -> list[str]:
    """The messages marshmallow's validators really raise, every variant of each."""
    ranges = [
        (validate.Range(min=1, max=5), 0),
        (validate.Range(min=1), 0),
        (validate.Range(max=5), 9),
        (validate.Range(min=1, max=5, min_inclusive=False, max_inclusive=False), 1),
        (validate.Range(min=1, min_inclusive=False), 1),
        (validate.Range(max=5, max_inclusive=False), 5),
        (validate.Range(min=0, max=5, max_inclusive=False), 5),
    ]
    others = [
        (validate.Length(min=2), "a"),
        (validate.Length(max=1), "ab"),
        (validate.Length(min=2, max=3), "a"),
        (validate.Length(equal=2), "a"),
        (validate.OneOf(["a", "b"]), "c"),
        (validate.NoneOf(["a"]), "a"),
        (validate.Equal(3), 4),
        (validate.Regexp(r"^a$"), "b"),
        (validate.Email(), "nope"),
        (validate.URL(), "nope"),
        (validate.ContainsOnly(["a"]), ["b"]),
        (validate.ContainsNoneOf(["a"]), ["a"]),
        (validate.Predicate("isdigit"), "a"),
        (validate.And(validate.Length(max=0)), "a"),
    ]
    return [_raised(v, value) for v, value in ranges + others]


@pytest.mark.parametrize("english", _field_messages() + _validator_messages())
def test_every_marshmallow_default_message_has_a_french_text(english):
    """No default message of a marshmallow field or validator reaches a person in English."""
    french = translate(english)
    assert french != english
    assert not any(word in french for word in ("Not a", "Must be", "Invalid", "field", "valid "))


# Addresses our rule and email-validator may disagree on are what the ASCII fast path skips:
# any mix of atext, dots, at signs and hyphens, on a few domains.
_ATEXT = string.ascii_lowercase + string.digits + "!#$%&'*+/=?^_`{|}~-."


@given(
    local=st.text(alphabet=_ATEXT, min_size=1, max_size=70),
    domain=st.sampled_from(["exemple.ca", "a.b.c.example", "x-y.quebec", "a--b.org", "1.2.com"]),
)
def test_an_ascii_address_we_accept_email_validator_accepts(local, domain):
    """The ASCII fast path skips email-validator only where it would accept anyway."""
    try:
        stored = normalise_email(f"{local}@{domain}")
    except ValidationError:
        return
    email_validator.validate_email(stored, check_deliverability=False, test_environment=True)
