"""Each rule of the vocabulary has one home in the pure layer, and the service reads it from there."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import workflows
from forms import base as forms_base
from forms import common as forms_common
from forms import profile as vocabulary
from forms.profile import (
    AUTHORITY_RELATIONS,
    ORGANISATION_RELATION_LABELS,
    RELATION_LABELS,
    RIGHT_LABELS,
    SUBJECT_CATEGORY_LABELS,
    SUBJECT_CATEGORY_ORDER,
    ContactRelationType,
    OrganisationRelationType,
    Right,
    SubjectCategory,
    ends_with_relations,
    may_manage,
)
from workflows import State, Trigger

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for folder in ("forms", "workflows", "catalogue_svc")
    for path in (ROOT / folder).rglob("*.py")
    if "migrations" not in path.parts
)

# Each rule: the pattern of its definition (an assignment, a ``def`` or a ``class`` at the start of
# a line, or a literal that states it), and the one file allowed to hold it (``None``: no file may
# state it, it is derived).
DEFINITIONS = {
    "END_OF_TIME": (r"^END_OF_TIME\s*[:=]|date\(\s*9999\s*,\s*12\s*,\s*31\s*\)", "forms/base.py"),
    "AUTHORITY_RELATIONS": (r"^AUTHORITY_RELATIONS\s*[:=]", "forms/profile.py"),
    "may manage": (
        r"&\s*AUTHORITY_RELATIONS|in AUTHORITY_RELATIONS for|AUTHORITY_RELATIONS\.isdisjoint",
        "forms/profile.py",
    ),
    "relation labels": (r"\(\s*\"Membre du personnel\"\s*,", "forms/profile.py"),
    "organisation relation labels": (
        r"\"a comme firme comptable ou serv\. de paie\"\s*,",
        "forms/profile.py",
    ),
    "subject category labels": (r"\(\s*\"Chantier et conformité\"\s*,", "forms/profile.py"),
    "right labels": (r"\(\s*\"Lecture\"\s*,\s*\"Read\"\s*\)", "forms/profile.py"),
    "relation types": (r"^class ContactRelationType\b", "forms/profile.py"),
    "subject categories": (r"^class SubjectCategory\b", "forms/profile.py"),
    "rights": (r"^class Right\b", "forms/profile.py"),
    "organisation kinds": (r"^class OrganisationKind\b", "forms/profile.py"),
    # Pending, cancellable, awaiting the system: three states or more written out.
    "groups of states": (r"[\[(]\s*\"submitted\",\s*\"duplicate_check\",\s*\"", None),
    "cancellable states": (r"^CANCELLABLE_STATES\s*[:=]", "workflows/requests.py"),
    "undecided states": (r"^UNDECIDED_STATES\s*[:=]", "workflows/requests.py"),
    "final states": (r"^FINAL_STATES\s*[:=]", "workflows/requests.py"),
    "final states written out": (r"\"applied\",\s*\"rejected\",\s*\"cancelled\"", None),
    # Two states or more of the enum written out: only the transition table lists them.
    "groups of State members": (r"[({]\s*State\.\w+\s*,\s*State\.", "workflows/requests.py"),
    "the grants a relation's end ends": (r"^def ends_with_relations\b", "forms/profile.py"),
}


def _homes(pattern: str) -> list[str]:
    found = re.compile(pattern, re.MULTILINE)
    return [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if found.search(path.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize("rule", sorted(DEFINITIONS))
def test_each_rule_is_defined_in_one_place(rule: str) -> None:
    """A search of the source tree finds the rule defined in its one home and nowhere else."""
    pattern, home = DEFINITIONS[rule]
    assert _homes(pattern) == ([home] if home else [])


def test_the_service_reads_the_vocabulary_from_the_pure_layer() -> None:
    """The models, the database module and the forms' common module hand out the same objects."""
    from catalogue_svc import db as db_module
    from catalogue_svc.profiles import models
    from catalogue_svc.requests import conflicts

    assert db_module.END_OF_TIME is forms_base.END_OF_TIME == dt.date(9999, 12, 31)
    assert models.END_OF_TIME is forms_base.END_OF_TIME
    assert models.AUTHORITY_RELATIONS is AUTHORITY_RELATIONS
    assert models.CONTACT_RELATION_LABELS is RELATION_LABELS
    assert models.ORGANISATION_RELATION_LABELS is ORGANISATION_RELATION_LABELS
    assert models.SUBJECT_CATEGORY_LABELS is SUBJECT_CATEGORY_LABELS
    assert models.RIGHT_LABELS is RIGHT_LABELS
    assert models.ContactRelationType is ContactRelationType
    assert models.SubjectCategory is SubjectCategory
    assert forms_common.RELATION_LABELS is RELATION_LABELS
    assert forms_common.SUBJECT_CATEGORY_LABELS is SUBJECT_CATEGORY_LABELS
    assert forms_common.RIGHT_LABELS is RIGHT_LABELS
    assert tuple(s.value for s in workflows.PENDING_STATES) == conflicts.PENDING


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        (RELATION_LABELS, ContactRelationType),
        (ORGANISATION_RELATION_LABELS, OrganisationRelationType),
        (SUBJECT_CATEGORY_LABELS, SubjectCategory),
        (RIGHT_LABELS, Right),
    ],
)
def test_every_value_of_the_vocabulary_has_a_french_and_an_english_label(labels, kind) -> None:
    """Each relation type, category and right has its two labels, and nothing else has one."""
    assert list(labels) == [member.value for member in kind]
    assert all(fr and en for fr, en in labels.values())


def test_the_subject_categories_are_shown_in_the_order_they_are_declared() -> None:
    """The order of the category groups is the enum's."""
    assert SUBJECT_CATEGORY_ORDER == ("chantier_conformite", "paiements_releves", "profil")


@pytest.mark.parametrize(
    ("relation_types", "expected"),
    [
        ({"responsable"}, True),
        (["administrateur_dossier"], True),
        (("membre_personnel", "dirigeant"), True),
        ({"membre_personnel", "individu_autorise", "contact"}, False),
        ((), False),
    ],
)
def test_only_a_responsable_an_administrator_or_an_officer_may_manage(
    relation_types, expected
) -> None:
    """The Autorisations forms are for the authority relations, whatever the collection."""
    assert may_manage(relation_types) is expected
    assert {"responsable", "administrateur_dossier", "dirigeant"} == AUTHORITY_RELATIONS


@pytest.mark.parametrize(
    ("relation_id", "org_relation_id", "ended", "ended_org", "expected"),
    [
        (1, None, {1}, set(), True),
        (1, 7, {2}, {7}, True),
        (1, 7, {2}, {8}, False),
        (None, None, {None}, {None}, False),
        (None, 7, set(), {7: dt.date(2026, 1, 1)}, True),
        (3, None, {3: dt.date(2026, 1, 1)}, {}, True),
    ],
)
def test_ending_a_relation_ends_the_grants_held_or_delegated_through_it(
    relation_id, org_relation_id, ended, ended_org, expected
) -> None:
    """A grant ends with its contact relation or with its organisation relation, not otherwise."""
    assert ends_with_relations(relation_id, org_relation_id, ended, ended_org) is expected


def test_the_state_groups_are_derived_from_the_transition_table() -> None:
    """Cancellable, pending and awaiting states follow the rows of the lifecycle."""
    cancel = next(row for row in workflows.TRANSITIONS if row.trigger is Trigger.CANCEL)
    assert set(workflows.CANCELLABLE_STATES) == set(cancel.source)
    assert workflows.CANCELLABLE_STATES == (
        State.SUBMITTED,
        State.DUPLICATE_CHECK,
        State.AGENT_VALIDATION,
    )
    assert (*workflows.CANCELLABLE_STATES, State.APPROVED) == workflows.PENDING_STATES
    assert workflows.AWAITING_SYSTEM == (State.SUBMITTED, State.DUPLICATE_CHECK, State.APPROVED)
    assert workflows.AWAITING_AGENT == (State.AGENT_VALIDATION, State.FAILED)
    assert not set(workflows.PENDING_STATES) & set(workflows.FINAL_STATES)


def test_the_vocabulary_module_is_pure() -> None:
    """The home of the vocabulary imports neither Flask nor the database."""
    source = Path(vocabulary.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+(flask|sqlalchemy|catalogue_svc)", source, re.M)
