"""Each form is described once: its schema is derived from its fields, and the server enforces
``shown_when`` as the portal evaluates it (``conditionMet`` in ``app.js``)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema
from marshmallow import fields as ma

from forms import messages
from forms.base import (
    END_OF_TIME,
    ErrorCollector,
    Field,
    FormDefinition,
    FormValidationError,
    Submission,
    condition_met,
)
from forms.common import choices_of
from forms.registry import REGISTRY

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
TODAY = dt.date(2025, 10, 24)


def _nested_schema(field: ma.Field) -> type[Schema] | Schema | None:
    """The schema a (list of) nested field loads with, if any."""
    if isinstance(field, ma.List):
        field = field.inner
    if isinstance(field, ma.Nested):
        return field.nested  # type: ignore[return-value]
    return None


def _schema_names(schema: type[Schema] | Schema) -> set[str]:
    return set((schema() if isinstance(schema, type) else schema).fields)


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_description_and_schema_have_the_same_fields(slug: str) -> None:
    """The served description and the schema name the same fields, down to the groups'."""
    form = REGISTRY[slug]
    description = form.to_description("fr", today=TODAY)

    def compare(described: list[dict[str, Any]], schema: type[Schema] | Schema) -> None:
        instance = schema() if isinstance(schema, type) else schema
        assert {d["name"] for d in described} == set(instance.fields)
        for item in described:
            nested = _nested_schema(instance.fields[item["name"]])
            if item.get("fields"):
                assert nested is not None, item["name"]
                compare(item["fields"], nested)

    compare(description["fields"], form.schema)


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_description_and_schema_agree_on_required_and_shown_when(slug: str) -> None:
    """A field always shown is required by the schema exactly when the description says so;
    a conditional one is never required by marshmallow (the shown_when rule requires it)."""
    form = REGISTRY[slug]
    schema_fields = form.schema().fields
    for item in form.to_description("fr", today=TODAY)["fields"]:
        declared = form.field(item["name"])
        assert declared is not None
        assert item.get("shown_when") == (
            dict(declared.shown_when) if declared.shown_when else None
        )
        expected = item["required"] and "shown_when" not in item
        assert schema_fields[item["name"]].required is expected, item["name"]


def test_a_form_module_declares_no_schema_class_of_its_own() -> None:
    """No form module writes a marshmallow schema class by hand: each is built from FIELDS."""
    for path in FORMS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                hand_written = bases & {"BaseSchema", "Schema", "PhoneSchema"}
                allowed = path.name == "values.py" and node.name == "BaseSchema"
                assert not hand_written or allowed, f"{path.name}: {node.name}"


def test_end_of_time_is_defined_once_in_forms() -> None:
    """9999-12-31 is written once in ``forms/`` (``forms.base.END_OF_TIME``)."""
    places = [
        path.name
        for path in FORMS_DIR.glob("*.py")
        if "date(9999" in path.read_text(encoding="utf-8")
    ]
    assert places == ["base.py"]
    assert dt.date(9999, 12, 31) == END_OF_TIME


# --------------------------------------------------------------------------- conditions


def values(**given: Any) -> Any:
    """A lookup over ``given`` (every value known)."""
    return lambda name: (True, given.get(name))


@pytest.mark.parametrize(
    ("condition", "given", "met"),
    [
        ({"field": "box", "equals": True}, {"box": True}, True),
        ({"field": "box", "equals": True}, {"box": False}, False),
        ({"field": "box", "equals": False}, {}, True),
        ({"field": "box", "equals": False}, {"box": None}, True),
        ({"field": "box", "equals": True}, {}, False),
        ({"field": "n", "equals": 1}, {"n": "1"}, True),
        ({"field": "n", "equals": True}, {"n": 1}, False),
        ({"field": "n", "equals": "true"}, {"n": True}, True),
        ({"field": "list", "contains": "a"}, {"list": ["b", "a"]}, True),
        ({"field": "list", "contains": "a"}, {"list": "a"}, False),
        ({"field": "list", "contains": "a"}, {}, False),
        ({"field": "c", "in": ["x", "y"]}, {"c": "y"}, True),
        ({"field": "c", "in": ["x", "y"]}, {"c": "z"}, False),
        ({"all": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}, {"a": 1, "b": 2}, True),
        ({"all": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}, {"a": 1}, False),
        ({"any": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}, {"b": 2}, True),
        ({"any": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}, {}, False),
        (None, {}, True),
    ],
)  # fmt: skip
def test_conditions_are_met_as_the_portal_evaluates_them(
    condition: dict[str, Any] | None, given: dict[str, Any], met: bool
) -> None:
    """``equals`` (false matches absent or null, values compared as text), ``contains``, ``in``,
    ``all`` and ``any`` mean what ``conditionMet`` in app.js makes of them."""
    assert condition_met(condition, values(**given)) is met


def test_a_condition_on_a_value_that_did_not_load_is_not_judged() -> None:
    """A condition on a field whose own value failed is neither met nor unmet."""
    unknown = lambda name: (name != "box", None)  # noqa: E731
    assert condition_met({"field": "box", "equals": True}, unknown) is None
    assert condition_met({"any": [{"field": "box", "equals": True}]}, unknown) is None
    assert condition_met({"all": [{"field": "box", "equals": True}]}, unknown) is None


# --------------------------------------------------------------------------- enforcement

_OTHER = {"field": "other", "equals": True}
_DETAILS = {"field": "parts", "contains": "details"}


def _check_ends(submitted: Submission, errors: ErrorCollector) -> None:
    if submitted.met(_OTHER) and submitted.data.get("name") == "refused":
        errors.add("name", "Ce nom est refusé.")


def _form(**overrides: Any) -> FormDefinition:
    """A small form with one field of each conditional kind."""
    fields = (
        Field("other", "boolean", "Autre", "Other", default=False),
        Field(
            "parts",
            "multi_choice",
            "Que désirez-vous modifier?",
            "What?",
            many=True,
            default=(),
            choices=choices_of({"details": ("Détails", "Details")}),
        ),
        Field("name", "text", "Nom", "Name", required=True, shown_when=_OTHER, value=ma.String),
        Field("codes", "subjects", "Codes", "Codes", required=True, many=True, default=(),
              shown_when=_OTHER),
        Field("note", "text", "Note", "Note", shown_when=_DETAILS, value=ma.String),
        Field("attestation", "attestation", "J'atteste", "I attest", required=True),
    )  # fmt: skip
    values_: dict[str, Any] = {
        "slug": "test-form",
        "version": 1,
        "catalogue": "c",
        "catalogue_label_fr": "C",
        "catalogue_label_en": "C",
        "category": "k",
        "category_label_fr": "K",
        "category_label_en": "K",
        "title_fr": "T",
        "title_en": "T",
        "description_fr": "D",
        "description_en": "D",
        "fields": fields,
        "validation_rule": "never",
        "requires_authority": False,
        "popular": False,
        "build": lambda variables, view, options: [],
        "rules": _check_ends,
    }
    values_.update(overrides)
    return FormDefinition(**values_)


FORM = _form()


def errors(raw: dict[str, Any]) -> dict[str, list[str]]:
    """The errors of ``raw`` on the small form (fails when it validates)."""
    with pytest.raises(FormValidationError) as caught:
        FORM.validate({"attestation": True, **raw}, today=TODAY)
    return caught.value.errors


def test_a_field_given_while_hidden_is_refused() -> None:
    """A value for a field whose condition is not met is an error naming it."""
    assert errors({"name": "Julie"}) == {"name": [messages.NOT_APPLICABLE]}


def test_an_empty_value_of_a_hidden_field_is_accepted() -> None:
    """A hidden field sent empty (as a form clears it) is not an error."""
    loaded = FORM.validate({"attestation": True, "name": "", "codes": []}, today=TODAY)
    assert loaded["other"] is False


def test_a_required_field_shown_must_be_given() -> None:
    """A required field whose condition is met is required; a list needs one element."""
    assert errors({"other": True}) == {
        "name": [messages.REQUIRED],
        "codes": [messages.CHOOSE_AT_LEAST_ONE],
    }


def test_a_field_shown_by_a_box_names_the_box_to_check() -> None:
    """Given while its box of a multi-choice is unchecked, a field says which box to check."""
    assert errors({"note": "x"}) == {
        "note": [messages.NOT_CHOSEN.format("Détails", "Que désirez-vous modifier?")]
    }


def test_the_conditions_are_not_judged_on_a_value_that_failed() -> None:
    """When the value a condition reads is itself invalid, only its own error is reported."""
    assert set(errors({"other": "peut-être", "name": "Julie"})) == {"other"}


def test_the_form_rules_run_with_the_shown_when_rules() -> None:
    """A form's own rule is reported with the declared ones, all at once."""
    assert errors({"other": True, "name": "refused"}) == {
        "name": ["Ce nom est refusé."],
        "codes": [messages.CHOOSE_AT_LEAST_ONE],
    }


def test_the_section_message_is_what_the_box_rule_says_for_update_contact() -> None:
    """update-contact's sections message is the generic one for its multi-choice."""
    label = "Coordonnées de communication"
    assert messages.SECTION_NOT_CHOSEN.format(label) == messages.NOT_CHOSEN.format(
        label, REGISTRY["update-contact"].field_label("sections")
    )
