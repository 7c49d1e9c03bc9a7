"""Choices filled from the caller's profile, one function a ``choices_source``.

Choices that depend on an earlier answer (the relations of the chosen contact, the subjects the
firm holds on the chosen client) carry that answer as ``parent``; a client shows the choices whose
``parent`` is the current value of the field named by ``Field.choices_depend_on``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from .choice import Choice
from .profile import (
    RELATION_LABELS,
    RIGHT_LABELS,
    SUBJECT_CATEGORY_LABELS,
    SUBJECT_CATEGORY_ORDER,
    GrantInfo,
    OrgInfo,
    ProfileView,
    RelationInfo,
    SubjectInfo,
)
from .subject_descriptions import description

__all__ = ["SOURCES", "choices_for"]


def _sort_key(text: str) -> str:
    """Alphabetical order as people read it: case and accents ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _org_label(org: OrgInfo) -> str:
    return f"{org.name} ({org.client_number})"


def _relation_label(relation: RelationInfo, lang: str) -> str:
    fr, en = RELATION_LABELS.get(relation.type, (relation.type, relation.type))
    name = en if lang == "en" else fr
    return f"{name} ({relation.start_date.isoformat()} – {relation.end_date.isoformat()})"


def _subject_choice(subject: SubjectInfo, parent: int | None = None) -> Choice:
    group_fr, group_en = SUBJECT_CATEGORY_LABELS.get(
        subject.category, (subject.category, subject.category)
    )
    return Choice(
        subject.code,
        subject.name_fr,
        subject.name_en,
        group=subject.category,
        group_label_fr=group_fr,
        group_label_en=group_en,
        parent=parent,
        help_fr=description(subject.code, "fr"),
        help_en=description(subject.code, "en"),
    )


def _subject_order(subject: SubjectInfo) -> tuple[int, str]:
    category = subject.category
    rank = (
        SUBJECT_CATEGORY_ORDER.index(category)
        if category in SUBJECT_CATEGORY_ORDER
        else len(SUBJECT_CATEGORY_ORDER)
    )
    return rank, _sort_key(subject.name_fr)


def _profiles(view: ProfileView) -> tuple[Choice, ...]:
    label = _org_label(view.organisation)
    return (Choice(view.organisation.id, label, label),)


def _contacts(view: ProfileView) -> tuple[Choice, ...]:
    contacts = sorted(
        view.contacts.values(),
        key=lambda c: (_sort_key(c.last_name), _sort_key(c.first_name), c.id),
    )
    return tuple(Choice(c.id, c.full_name, c.full_name) for c in contacts)


def _clients(view: ProfileView) -> Iterable[OrgInfo]:
    orgs = (o for o in view.related_organisations.values() if view.org_relation_with(o.id))
    return sorted(orgs, key=lambda o: _sort_key(o.name))


def _related_organisations(view: ProfileView) -> tuple[Choice, ...]:
    return tuple(Choice(o.id, _org_label(o), _org_label(o)) for o in _clients(view))


def _subjects(view: ProfileView) -> tuple[Choice, ...]:
    return tuple(_subject_choice(s) for s in sorted(view.subjects.values(), key=_subject_order))


def _delegable(view: ProfileView, rights: frozenset[str]) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for org in _clients(view):
        held = view.firm_grants_on(org.id)
        subjects = [
            view.subjects[code]
            for code, grant in held.items()
            if grant.right in rights
            and code in view.subjects
            and not view.subjects[code].unavailable_in_delegation
        ]
        out.extend(_subject_choice(s, parent=org.id) for s in sorted(subjects, key=_subject_order))
    return tuple(out)


def _contact_relations(view: ProfileView) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for contact_id in sorted(view.contacts):
        for relation in view.relations_of(contact_id):
            out.append(
                Choice(
                    relation.id,
                    _relation_label(relation, "fr"),
                    _relation_label(relation, "en"),
                    parent=contact_id,
                )
            )
    return tuple(out)


def _contact_delegated_organisations(view: ProfileView) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for contact_id in sorted(view.contacts):
        for org in _clients(view):
            if view.delegated_grants(contact_id, org.id):
                out.append(Choice(org.id, _org_label(org), _org_label(org), parent=contact_id))
    return tuple(out)


def _grant_label(view: ProfileView, grant: GrantInfo, lang: str) -> str:
    subject = view.subjects.get(grant.subject_code)
    name = subject.name(lang) if subject else grant.subject_code
    right_fr, right_en = RIGHT_LABELS.get(grant.right, (grant.right, grant.right))
    owner = (
        view.organisation
        if grant.owner_organisation_id == view.organisation.id
        else view.related_organisations.get(grant.owner_organisation_id)
    )
    owner_name = owner.name if owner else str(grant.owner_organisation_id)
    return f"{name} — {right_en if lang == 'en' else right_fr} — {owner_name}"


def _contact_grants(view: ProfileView) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for contact_id in sorted(view.contacts):
        grants = sorted(
            view.grants_through_firm(contact_id),
            # The organisation's own subjects first, as in the guide's Autorisations list.
            key=lambda g: (g.owner_organisation_id != view.organisation.id, g.id),
        )
        for grant in grants:
            out.append(
                Choice(
                    grant.id,
                    _grant_label(view, grant, "fr"),
                    _grant_label(view, grant, "en"),
                    parent=contact_id,
                )
            )
    return tuple(out)


SOURCES: dict[str, Callable[[ProfileView], tuple[Choice, ...]]] = {
    "account.profiles": _profiles,
    "profile.contacts": _contacts,
    "profile.related_organisations": _related_organisations,
    "subjects": _subjects,
    "related_organisation.subjects.write": lambda v: _delegable(v, frozenset({"write"})),
    "related_organisation.subjects.read": lambda v: _delegable(v, frozenset({"read", "write"})),
    "contact.relations": _contact_relations,
    "contact.delegated_organisations": _contact_delegated_organisations,
    "contact.grants": _contact_grants,
}


def choices_for(source: str, view: ProfileView) -> tuple[Choice, ...]:
    """The choices of ``source`` for the profile ``view`` (none for an unknown source)."""
    fill = SOURCES.get(source)
    return fill(view) if fill is not None else ()
