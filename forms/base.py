"""What a catalogue form is: its fields, the schema derived from them, its changeset.

A form's fields are declared once, as :class:`Field` values: what a client renders (type, labels,
help, default, choices, ``shown_when``, required when shown) and what the server checks (the
marshmallow field of the value, :attr:`Field.value`, picked from the type when not given). The
form's marshmallow schema is built from them (:func:`schema_of`), and so is the description
clients draw the form from (:meth:`FormDefinition.to_description`): the two cannot disagree.

The schema enforces ``shown_when`` itself, with the portal's semantics (``conditionMet`` in
``app.js``): a field whose condition is not met must be left empty (else ``NOT_APPLICABLE``), a
required field whose condition is met must be given (else ``REQUIRED``, or ``CHOOSE_AT_LEAST_ONE``
for a list). Only a form's own cross-field rules (an end date before the start date…) are code: the
form's :attr:`FormDefinition.rules`, or a group's :attr:`Field.rules`.

A :class:`FormDefinition` is data plus three pure steps the service calls in order:

1. :meth:`FormDefinition.validate` — the raw submitted variables through the form's schema:
   every error at once, in French, keyed by field path (``new_contact.birth_date``,
   ``phones.1.number``); server-owned fields (``state``, ``organisation_id``…) are refused.
2. :meth:`FormDefinition.new_person` — the person the form would create, for duplicate detection.
3. :meth:`FormDefinition.changeset` — the validated variables checked against a read-only
   :class:`~forms.profile.ProfileView` and turned into plain operations (``forms.changeset``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from marshmallow import Schema, ValidationError, missing, post_load, validates_schema
from marshmallow import fields as ma

from . import messages
from .changeset import Operation
from .choice import Choice
from .choice import lang_of as _lang
from .choices import choices_for
from .profile import AUTHORITY_RELATIONS, VIEW_PARTS, ProfileView, ViewPart
from .values import BaseSchema, ChoiceField, attestation_field, code_list, id_field, id_list

__all__ = [
    "END_OF_TIME",
    "SERVER_OWNED_FIELDS",
    "TODAY",
    "BuildOptions",
    "Choice",
    "ErrorCollector",
    "Field",
    "FieldType",
    "FormDefinition",
    "FormValidationError",
    "Submission",
    "ValidationRule",
    "condition_met",
    "current_date",
    "present",
    "schema_of",
    "today_is",
]

END_OF_TIME = dt.date(9999, 12, 31)

# A field's default that means "the day the form is described or validated".
TODAY = "today"
# The key of an error about the form as a whole (marshmallow's own name for it): never shown to
# people, and renamed by the service before it answers.
FORM_LEVEL = "_schema"

FieldType = Literal[
    "text",
    "date",
    "boolean",
    "choice",
    "multi_choice",
    "contact",
    "organisation",
    "relation",
    "grant",
    "subjects",
    "phones",
    "address",
    "attestation",
    "email_notice",
    "group",
]

ValidationRule = Literal["never", "always", "client_number_or_candidates"]

# Types that show a value without taking one: the form's own rule refuses what is submitted for
# them (the email of a contact is changed in the account settings), so no ``shown_when`` rule.
DISPLAY_ONLY_TYPES = frozenset({"email_notice"})

# Fields the service owns: a submission that carries one gets a 422 naming it.
SERVER_OWNED_FIELDS = frozenset(
    {
        "id",
        "number",
        "state",
        "organisation_id",
        "profile",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
        "applied_at",
        "rejected_by",
        "reason",
        "history",
        "candidates",
        "changeset",
        "created_at",
        "updated_at",
        "version",
        "merge_with_contact_id",
    }
)

_TODAY: contextvars.ContextVar[dt.date] = contextvars.ContextVar("forms_today")


def current_date() -> dt.date:
    """The date validation runs for (set by :meth:`FormDefinition.validate`; else the real date)."""
    try:
        return _TODAY.get()
    except LookupError:
        return dt.date.today()


@contextmanager
def today_is(day: dt.date | None) -> Iterator[dt.date]:
    """Make :func:`current_date` answer ``day`` (the real date when ``None``) inside the block."""
    token = _TODAY.set(day or dt.date.today())
    try:
        yield _TODAY.get()
    finally:
        _TODAY.reset(token)


_SCHEMAS = threading.local()


def _schema_instance(schema: type[Schema]) -> Schema:
    """One instance of ``schema`` per thread: loading keeps no state in it (the day of
    validation is a context variable), and building one costs more than a load."""
    instances: dict[type[Schema], Schema] = _SCHEMAS.__dict__.setdefault("instances", {})
    if schema not in instances:
        instances[schema] = schema()
    return instances[schema]


class FormValidationError(Exception):
    """The variables do not make a valid request: French messages keyed by field path."""

    status = 422

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class ErrorCollector:
    """Collects errors while checking, so that every error is reported at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        """Record one message for ``path`` (once)."""
        bucket = self.errors.setdefault(path, [])
        if message not in bucket:
            bucket.append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        """Raise :class:`FormValidationError` with everything recorded, if anything was."""
        if self.errors:
            raise FormValidationError(self.errors)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# What a field's value loads with when absent, unless :attr:`Field.load_default` says otherwise:
# its :attr:`Field.default`.
FROM_DEFAULT: Any = object()

ValueFactory = Callable[..., ma.Field]


@dataclass(frozen=True)
class Field:
    """One field of a form: what a client renders and what the server checks.

    ``required`` applies when the field is shown (``shown_when`` is met, or always when
    ``shown_when`` is ``None``). ``shown_when`` is ``{"field": name, "equals": value}``,
    ``{"field": name, "contains": value}`` (multi-choice), ``{"all": [conditions]}`` or
    ``{"any": [conditions]}``, on the fields beside it (:func:`condition_met`).
    ``choices_source`` says where the service fills choices from the caller's profile (see
    ``forms.choices``); ``fields`` are the sub-fields of a ``group``, ``phones`` or ``address``.

    Validation (:func:`schema_of`): ``value`` makes the marshmallow field of the value, given
    ``required``, ``load_default`` and ``allow_none`` (which the declaration decides); without it,
    the type decides (:func:`_value_of_type`). An absent value loads as ``load_default``, which is
    ``default`` unless given (``marshmallow.missing``: absent stays absent). A group's ``rules``
    are the cross-field rules of its sub-fields and ``finish`` normalises its loaded value.
    """

    name: str
    type: FieldType
    label_fr: str
    label_en: str
    required: bool = False
    default: Any = None
    choices: tuple[Choice, ...] = ()
    choices_source: str | None = None
    # A default the service computes for the profile when it describes the form (e.g.
    # ``profile.unlinked_members``: the members no account is linked to yet); ``default`` else.
    default_source: str | None = None
    shown_when: Mapping[str, Any] | None = None
    help_fr: str | None = None
    help_en: str | None = None
    many: bool = False
    fields: tuple[Field, ...] = ()
    choices_depend_on: str | None = None
    current_value_source: str | None = None
    placeholder: str | None = None
    value: ValueFactory | None = None
    load_default: Any = FROM_DEFAULT
    # A value given while the field is hidden is used, not refused (the form reads it anyway).
    accepted_when_hidden: bool = False
    rules: FormRules | None = None
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_en if _lang(lang) == "en" else self.label_fr

    def describe(
        self,
        lang: str,
        *,
        today: dt.date,
        fill: Callable[[str], tuple[Choice, ...]] | None = None,
        defaults: Callable[[str], Any] | None = None,
    ) -> dict[str, Any]:
        """JSON-able description for clients; ``fill`` gives the choices of a ``choices_source``
        and ``defaults`` the value of a ``default_source``."""
        default = today if self.default == TODAY else self.default
        if defaults is not None and self.default_source is not None:
            default = defaults(self.default_source)
        choices = self.choices
        if fill is not None and self.choices_source is not None:
            choices = fill(self.choices_source)
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "label": self.label(lang),
            "required": self.required,
            "many": self.many,
            "default": _jsonable(default),
        }
        if choices or self.choices_source is not None:
            out["choices"] = [c.describe(lang) for c in choices]
        if self.choices_source is not None:
            out["choices_source"] = self.choices_source
        if self.choices_depend_on is not None:
            out["choices_depend_on"] = self.choices_depend_on
        if self.shown_when is not None:
            out["shown_when"] = _jsonable(self.shown_when)
        help_text = self.help_en if _lang(lang) == "en" else self.help_fr
        if help_text is not None:
            out["help"] = help_text
        if self.current_value_source is not None:
            out["current_value_source"] = self.current_value_source
        if self.placeholder is not None:
            out["placeholder"] = self.placeholder
        if self.fields:
            out["fields"] = [
                f.describe(lang, today=today, fill=fill, defaults=defaults) for f in self.fields
            ]
        return out


# --------------------------------------------------------------------------- validation


def present(original: Mapping[str, Any], name: str) -> bool:
    """Whether the submission gave ``name`` a value (not missing, null, blank or empty)."""
    value = original.get(name)
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def _as_text(value: Any) -> str:
    """``String(value)`` in JavaScript, for the values a condition compares."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """``sameValue`` of ``app.js``: equal, or equal once written as text; nothing equals null."""
    if a is None or b is None:
        return a is b
    return a == b if type(a) is type(b) else _as_text(a) == _as_text(b)


# A field's value for a condition: (known, value). Not known: the field was given but did not
# load (its own error is reported), so nothing that depends on it is judged.
Lookup = Callable[[str], tuple[bool, Any]]


Condition = Callable[[Lookup], "bool | None"]


def _always(lookup: Lookup) -> bool | None:
    return True


def _combined(parts: list[Condition], decisive: bool) -> Condition:
    """``all`` (``decisive`` False) or ``any`` (True) of ``parts``: ``decisive`` when one part
    answers it, else unknown when one part is, else the other answer."""

    def combined(lookup: Lookup) -> bool | None:
        met = [part(lookup) for part in parts]
        return decisive if decisive in met else None if None in met else not decisive

    return combined


def _on_value(name: str, test: Callable[[Any], bool]) -> Condition:
    """A condition on the value of the field ``name``: ``test`` of it, unknown when it did not
    load."""

    def met(lookup: Lookup) -> bool | None:
        known, value = lookup(name)
        return test(value) if known else None

    return met


def compile_condition(condition: Mapping[str, Any] | None) -> Condition:
    """A ``shown_when`` as a function of a lookup (see :func:`condition_met`), built once per
    schema: validation runs on every submission and in every pipeline chunk."""
    if not condition:
        return _always
    for combinator, decisive in (("all", False), ("any", True)):
        if isinstance(condition.get(combinator), list | tuple):
            return _combined([compile_condition(c) for c in condition[combinator]], decisive)
    name = condition["field"]
    if "equals" in condition:
        expected = condition["equals"]
        return _on_value(
            name, lambda value: (expected is False and value is None) or _same(value, expected)
        )
    if "contains" in condition:
        wanted = condition["contains"]
        return _on_value(
            name,
            lambda value: isinstance(value, list | tuple) and any(_same(v, wanted) for v in value),
        )
    if isinstance(condition.get("in"), list | tuple):
        among = list(condition["in"])
        return _on_value(name, lambda value: any(_same(v, value) for v in among))
    return _on_value(name, lambda value: True)  # an operator unknown here: met once known


def condition_met(condition: Mapping[str, Any] | None, lookup: Lookup) -> bool | None:
    """Whether a ``shown_when`` is met, as ``conditionMet`` in ``app.js`` evaluates it; ``None``
    when it depends on a value that did not load.

    ``equals`` (``false`` also matches an absent or null value), ``contains`` (a list holding the
    value), ``in`` (the value among a list), ``all`` and ``any`` of conditions.
    """
    return compile_condition(condition)(lookup)


@dataclass(frozen=True)
class Submission:
    """What a form's own rules read: the loaded values (a field that failed is absent), the
    values as submitted, and whether each field with a ``shown_when`` is shown (``None``: its
    condition depends on a value that did not load)."""

    data: Mapping[str, Any]
    original: Mapping[str, Any]
    shown: Mapping[str, bool | None]
    lookup: Lookup
    # The fields' conditions already evaluated, by identity (a form reuses its condition dicts).
    evaluated: Mapping[int, bool | None] = field(default_factory=dict)

    def met(self, condition: Mapping[str, Any]) -> bool | None:
        """Whether ``condition`` (a ``shown_when``) is met by these values (see
        :func:`condition_met`)."""
        key = id(condition)
        if key in self.evaluated:
            return self.evaluated[key]
        return condition_met(condition, self.lookup)

    def given(self, name: str) -> bool:
        """Whether the submission gave ``name`` a value (see :func:`present`)."""
        return present(self.original, name)

    def is_shown(self, name: str) -> bool | None:
        """Whether the field ``name`` is shown (always, when it has no ``shown_when``)."""
        return self.shown.get(name, True)


# A form's (or a group's) own cross-field rules: add errors, keyed by field name.
FormRules = Callable[[Submission, ErrorCollector], None]


def _load_default(default: Any) -> Any:
    """A description's default as marshmallow's ``load_default`` (a callable when it must be
    computed at each load: today, a fresh list)."""
    if default == TODAY:
        return current_date
    if isinstance(default, list | tuple):
        items = list(default)
        return lambda: list(items)
    return default


def _value_of_type(spec: Field) -> ValueFactory:
    """The marshmallow field of a value of ``spec.type``, when ``spec.value`` says none."""
    codes = [str(c.value) for c in spec.choices]
    many = spec.many
    if spec.type == "boolean":
        return ma.Boolean
    if spec.type == "date":
        return ma.Date
    if spec.type == "attestation":
        return attestation_field
    if spec.type == "choice" and codes:
        return partial(ChoiceField, codes)
    if spec.type == "multi_choice" and codes:
        return partial(ma.List, ChoiceField(codes))
    if spec.type in ("contact", "organisation", "relation", "grant"):
        return id_list if many else id_field
    if spec.type == "subjects":
        return code_list
    if spec.fields:
        nested = ma.Nested(
            schema_of(spec.fields, name=f"{spec.name}_schema", rules=spec.rules, finish=spec.finish)
        )
        return partial(ma.List, nested) if many else partial(ma.Nested, nested.nested)
    raise TypeError(f"The field {spec.name!r} ({spec.type}) must say how its value loads.")


def _schema_field(spec: Field) -> ma.Field:
    """The marshmallow field of ``spec``: required only when always shown; a conditional or
    optional field loads its default when absent (``None`` allowed)."""
    factory = spec.value or _value_of_type(spec)
    if spec.required and spec.shown_when is None:
        return factory(required=True)
    default = spec.default if spec.load_default is FROM_DEFAULT else spec.load_default
    if default is missing:
        return factory()
    if default is None:
        return factory(load_default=None, allow_none=True)
    return factory(load_default=_load_default(default))


def _hidden_message(spec: Field, siblings: Sequence[Field]) -> str:
    """What a field given while hidden gets: which box to check when a multi-choice shows it,
    else that it does not apply."""
    condition = spec.shown_when or {}
    if "contains" in condition:
        chooser = next((f for f in siblings if f.name == condition.get("field")), None)
        choices = chooser.choices if chooser is not None else ()
        choice = next((c for c in choices if _same(c.value, condition["contains"])), None)
        if chooser is not None and choice is not None:
            return messages.NOT_CHOSEN.format(choice.label_fr, chooser.label_fr)
    return messages.NOT_APPLICABLE


def schema_of(
    specs: Sequence[Field],
    *,
    name: str,
    rules: FormRules | None = None,
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> type[Schema]:
    """The marshmallow schema of ``specs``: each field's value, the ``shown_when`` rules, then
    ``rules`` (every error at once); ``finish`` runs on the loaded values."""
    attrs: dict[str, Any] = {spec.name: _schema_field(spec) for spec in specs}
    conditional = [
        (spec, _hidden_message(spec, specs))
        for spec in specs
        if spec.shown_when is not None and spec.type not in DISPLAY_ONLY_TYPES
    ]
    # Each distinct condition is evaluated once per load (fields shown together share theirs).
    conditions = {
        id(spec.shown_when): compile_condition(spec.shown_when) for spec, _ in conditional
    }
    # A field that is required and absent did not load: a condition on it is not judged.
    always_required = frozenset(s.name for s in specs if s.required and s.shown_when is None)

    if conditional or rules is not None:

        def check(self: Schema, data: Mapping[str, Any], original_data: Any, **_: Any) -> None:
            if not isinstance(original_data, Mapping):
                return  # not an object: marshmallow reports it, there is nothing to judge
            original = original_data

            def lookup(field_name: str) -> tuple[bool, Any]:
                if field_name in data:
                    return True, data[field_name]
                return field_name not in original and field_name not in always_required, None

            evaluated = {key: met(lookup) for key, met in conditions.items()}
            shown = {spec.name: evaluated[id(spec.shown_when)] for spec, _ in conditional}
            errors = ErrorCollector()
            for spec, hidden in conditional:
                if spec.name not in original:
                    if shown[spec.name] and spec.required:
                        errors.add(
                            spec.name,
                            messages.CHOOSE_AT_LEAST_ONE if spec.many else messages.REQUIRED,
                        )
                elif shown[spec.name] is False:
                    if present(original, spec.name) and not spec.accepted_when_hidden:
                        errors.add(spec.name, hidden)
                elif shown[spec.name] and spec.required:
                    if spec.many and not present(original, spec.name):
                        errors.add(spec.name, messages.CHOOSE_AT_LEAST_ONE)
                    elif not spec.many and original.get(spec.name) is None:
                        errors.add(spec.name, messages.REQUIRED)
            if rules is not None:
                rules(Submission(data, original, shown, lookup, evaluated), errors)
            if errors:
                raise ValidationError(errors.errors)

        attrs["_check"] = validates_schema(skip_on_field_errors=False, pass_original=True)(check)
    if finish is not None:

        def finished(self: Schema, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return finish(data)

        attrs["_finish"] = post_load(finished)
    attrs["Meta"] = type("Meta", (BaseSchema.Meta,), {"register": False})
    schema: type[Schema] = type(name, (BaseSchema,), attrs)
    return schema


@dataclass(frozen=True)
class BuildOptions:
    """How to build a changeset.

    ``merge_with_contact_id``: an agent approved with a merge, so the form uses this existing
    contact instead of creating the new one. ``today``: the date the changeset is built for (start
    dates by default, end date of removed relations); the real date when ``None``.
    """

    merge_with_contact_id: int | None = None
    today: dt.date | None = None

    def date(self) -> dt.date:
        """The date the changeset is built for."""
        return self.today or dt.date.today()


Builder = Callable[[Mapping[str, Any], ProfileView, BuildOptions], list[Operation]]
PersonExtractor = Callable[[Mapping[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class FormDefinition:
    """One form of the catalogue: what it asks, how it validates, what it changes, who submits it.

    ``requires_authority``: only a contact with one of ``authority_relations`` on the profile may
    submit it. ``validation_rule``: ``never`` (no agent), ``always``, or
    ``client_number_or_candidates`` (an agent validates when a client number was given or the
    duplicate check found candidates).
    """

    slug: str
    version: int
    catalogue: str
    catalogue_label_fr: str
    catalogue_label_en: str
    category: str
    category_label_fr: str
    category_label_en: str
    title_fr: str
    title_en: str
    description_fr: str
    description_en: str
    fields: tuple[Field, ...]
    validation_rule: ValidationRule
    requires_authority: bool
    popular: bool
    build: Builder
    person: PersonExtractor | None = None
    authority_relations: frozenset[str] = field(default=AUTHORITY_RELATIONS)
    # The parts of the profile view ``build`` reads (see ``forms.profile.VIEW_PARTS``): the
    # service loads only those for a submission. Every part unless the form says otherwise.
    view_parts: frozenset[ViewPart] = field(default=VIEW_PARTS)
    notes_fr: tuple[str, ...] = ()
    notes_en: tuple[str, ...] = ()
    # The form's own cross-field rules, beyond what its fields declare.
    rules: FormRules | None = None
    # Derived from ``fields`` and ``rules`` (see :func:`schema_of`), once per form.
    schema: type[Schema] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schema = schema_of(self.fields, name=f"{self.slug}_schema", rules=self.rules)
        object.__setattr__(self, "schema", schema)

    def title(self, lang: str) -> str:
        """The title in ``lang``."""
        return self.title_en if _lang(lang) == "en" else self.title_fr

    def description(self, lang: str) -> str:
        """The short description in ``lang``."""
        return self.description_en if _lang(lang) == "en" else self.description_fr

    def field(self, name: str) -> Field | None:
        """The top-level field called ``name``."""
        return next((f for f in self.fields if f.name == name), None)

    def validate(self, raw: Mapping[str, Any], *, today: dt.date | None = None) -> dict[str, Any]:
        """The variables loaded by the schema (dates parsed, defaults filled) or every error.

        Raises :class:`FormValidationError` with French messages keyed by field path.
        """
        if not isinstance(raw, Mapping):
            raise FormValidationError({FORM_LEVEL: [messages.NOT_A_MAPPING]})
        errors = ErrorCollector()
        data: dict[str, Any] = {}
        for key, value in raw.items():
            if key in SERVER_OWNED_FIELDS:
                errors.add(str(key), messages.SERVER_OWNED)
            else:
                data[key] = value
        loaded: dict[str, Any] = {}
        with today_is(today):
            try:
                loaded = _schema_instance(self.schema).load(data)
            except ValidationError as exc:
                for path, msgs in messages.translate_errors(exc.messages).items():
                    # A rule on a nested field whose parts also failed lands in "<field>._schema".
                    key = path.removesuffix("._schema")
                    for message in msgs:
                        errors.add(key, message)
        errors.raise_if_any()
        return loaded

    def changeset(
        self,
        variables: Mapping[str, Any],
        view: ProfileView,
        options: BuildOptions | None = None,
    ) -> list[Operation]:
        """The operations that carry out the validated ``variables`` on the profile ``view``.

        Raises :class:`FormValidationError` naming the fields when the variables do not fit the
        profile (a contact of another profile, an organisation not related to it…) or change
        nothing.
        """
        options = options or BuildOptions()
        profile_id = variables.get("profile_id")
        if profile_id is not None and profile_id != view.organisation.id:
            raise FormValidationError({"profile_id": [messages.WRONG_PROFILE]})
        operations = self.build(variables, view, options)
        if not operations and options.merge_with_contact_id is None:
            raise FormValidationError({FORM_LEVEL: [messages.NOTHING_TO_CHANGE]})
        # A merge may find that the existing contact already holds everything asked: the
        # agent's decision is carried out by changing nothing (an empty changeset).
        return operations

    def field_label(self, path: str) -> str | None:
        """The French label of the field at ``path`` (``new_contact.phones.0.number``: the
        innermost named field, with its group), or None for the form as a whole."""
        labels: list[str] = []
        fields = self.fields
        for part in path.split("."):
            if part.isdigit():
                continue
            found = next((f for f in fields if f.name == part), None)
            if found is None:
                break
            labels.append(found.label_fr)
            fields = found.fields
        if not labels:
            return None
        return labels[-1] if len(labels) == 1 else f"{labels[-1]} ({labels[0]})"

    def explain(self, errors: Mapping[str, list[str]]) -> str:
        """Errors keyed by field path as one French text for people: each message after the
        label of its field, never the path itself."""
        parts = []
        for path, texts in errors.items():
            label = self.field_label(path)
            text = " ".join(texts)
            parts.append(f"« {label} » : {text}" if label else text)
        return " ; ".join(parts)

    def new_person(self, variables: Mapping[str, Any]) -> dict[str, Any] | None:
        """The person the form creates, for duplicate detection; ``None`` when it creates none.

        ``{first_name, last_name, birth_date (date), email, phones (E.164 strings),
        client_number}``.
        """
        return self.person(variables) if self.person is not None else None

    def to_description(
        self,
        lang: str = "fr",
        *,
        today: dt.date | None = None,
        view: ProfileView | None = None,
        defaults: Callable[[str], Any] | None = None,
    ) -> dict[str, Any]:
        """The form as JSON for clients: fields, types, labels, choices, defaults, conditions.

        With ``view``, the choices of every ``choices_source`` are filled from that profile, and
        with ``defaults`` the default of every ``default_source``.
        """
        day = today or dt.date.today()
        fill: Callable[[str], tuple[Choice, ...]] | None = None
        if view is not None:

            def fill(source: str) -> tuple[Choice, ...]:
                return choices_for(source, view)

        notes = self.notes_en if _lang(lang) == "en" else self.notes_fr
        return {
            "slug": self.slug,
            "version": self.version,
            "catalogue": {
                "code": self.catalogue,
                "label": self.catalogue_label_en
                if _lang(lang) == "en"
                else self.catalogue_label_fr,
            },
            "category": {
                "code": self.category,
                "label": self.category_label_en if _lang(lang) == "en" else self.category_label_fr,
            },
            "title": self.title(lang),
            "description": self.description(lang),
            "notes": list(notes),
            "validation_rule": self.validation_rule,
            "requires_authority": self.requires_authority,
            "authority_relations": sorted(self.authority_relations),
            "popular": self.popular,
            "fields": [
                f.describe(lang, today=day, fill=fill, defaults=defaults) for f in self.fields
            ],
        }
