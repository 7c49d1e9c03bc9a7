"""A changeset told in French sentences, from the names it was about when it was written.

Agents decide on what a request will do, and submitters read what it did: both read sentences
("Ajouter Marie-Karine Bérard comme Membre du personnel de LAFORCE COMPTABLE INC"), never ids.
The names come from a *labels snapshot* taken from the profile view when the changeset is built
(:func:`labels_of`) and stored with the request, so the history still names a contact after it
is removed, and renders the same later (:func:`describe`). Pure: no database, no Flask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .common import LANGUAGES, RELATION_LABELS, RIGHT_LABELS
from .profile import ProfileView

__all__ = ["describe", "describe_one", "labels_of", "merge_labels"]

# The fields an ``update_contact`` or ``update_organisation`` changes, as a person names them.
FIELD_NAMES = {
    "first_name": "le prénom",
    "last_name": "le nom",
    "birth_date": "la date de naissance",
    "language": "la langue de communication",
    "email": "l'adresse courriel",
    "phone": "le téléphone",
    "phones": "les téléphones",
    "name": "le nom",
    "client_number": "le numéro de client",
}

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _day(value: Any) -> str:
    """A date as people write it in French ("31 décembre 9999" reads as "sans date de fin")."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if day.year == 9999:
        return "sans date de fin"
    first = "1er" if day.day == 1 else str(day.day)
    return f"le {first} {MONTHS[day.month - 1]} {day.year}"


def _org_label(name: str, client_number: str | None) -> str:
    return f"{name} ({client_number})" if client_number else name


def labels_of(view: ProfileView, changeset: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The names a changeset refers to, read from the view it was built against (JSON-able).

    ``organisation`` (the profile), ``organisations`` (by id), ``contacts`` (by id: full name),
    ``relations`` and ``grants`` (by id: what a sentence needs of them) and ``subjects`` (code:
    French name). Only what the changeset names is kept.
    """
    org = view.organisation
    organisations = {str(org.id): _org_label(org.name, org.client_number)}
    for other in view.related_organisations.values():
        organisations[str(other.id)] = _org_label(other.name, other.client_number)
    contacts: dict[str, str] = {}
    relations: dict[str, dict[str, Any]] = {}
    grants: dict[str, dict[str, Any]] = {}
    subjects: dict[str, str] = {}

    def contact(ref: Any) -> None:
        if isinstance(ref, int) and ref in view.contacts:
            contacts[str(ref)] = view.contacts[ref].full_name

    def subject(code: Any) -> None:
        if isinstance(code, str) and code in view.subjects:
            subjects[code] = view.subjects[code].name_fr

    for op in changeset:
        for key in ("contact", "contact_id"):
            contact(op.get(key))
        subject(op.get("subject_code"))
        relation_id = op.get("relation_id")
        if isinstance(relation_id, int):
            found = next((r for r in view.relations if r.id == relation_id), None)
            if found is not None:
                relations[str(relation_id)] = {"contact": found.contact_id, "type": found.type}
                contact(found.contact_id)
        grant_id = op.get("grant_id")
        if isinstance(grant_id, int):
            grant = next((g for g in view.grants if g.id == grant_id), None)
            if grant is not None:
                grants[str(grant_id)] = {
                    "contact": grant.holder_contact_id,
                    "subject": grant.subject_code,
                    "right": grant.right,
                    "owner": grant.owner_organisation_id,
                }
                contact(grant.holder_contact_id)
                subject(grant.subject_code)
    return {
        "organisation": str(org.id),
        "organisations": organisations,
        "contacts": contacts,
        "relations": relations,
        "grants": grants,
        "subjects": subjects,
    }


def merge_labels(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """``old`` completed by ``new`` (a name known at submission is kept as it was then)."""
    merged: dict[str, Any] = dict(old or {})
    for key, value in new.items():
        if isinstance(value, Mapping):
            merged[key] = {**value, **dict(merged.get(key) or {})}
        else:
            merged.setdefault(key, value)
    return merged


class _Names:
    """Looks names up in a labels snapshot, and in the changeset's own new rows."""

    def __init__(self, labels: Mapping[str, Any], changeset: Iterable[Mapping[str, Any]]):
        self.labels = labels
        self.new: dict[str, str] = {}
        for op in changeset:
            if op.get("op") == "add_contact":
                self.new[f"new:{op.get('ref')}"] = f"{op.get('first_name')} {op.get('last_name')}"

    def _table(self, name: str) -> Mapping[str, Any]:
        table = self.labels.get(name)
        return table if isinstance(table, Mapping) else {}

    def contact(self, ref: Any) -> str:
        if isinstance(ref, str) and ref in self.new:
            return self.new[ref]
        name = self._table("contacts").get(str(ref))
        return str(name) if name else "le contact"

    def organisation(self, org_id: Any = None) -> str:
        key = str(org_id) if org_id is not None else self.labels.get("organisation")
        name = self._table("organisations").get(str(key))
        return str(name) if name else "l'organisation"

    def subject(self, code: Any) -> str:
        name = self._table("subjects").get(str(code))
        return str(name) if name else str(code)

    def relation(self, relation_id: Any) -> Mapping[str, Any]:
        found = self._table("relations").get(str(relation_id))
        return found if isinstance(found, Mapping) else {}

    def grant(self, grant_id: Any) -> Mapping[str, Any]:
        found = self._table("grants").get(str(grant_id))
        return found if isinstance(found, Mapping) else {}


def _relation_label(code: Any) -> str:
    return RELATION_LABELS.get(str(code), (str(code), ""))[0]


def _right(code: Any) -> str:
    return RIGHT_LABELS.get(str(code), (str(code), ""))[0]


def _fields(changes: Any) -> str:
    names = [FIELD_NAMES.get(str(k), "une information") for k in changes or ()]
    if not names:
        return "les informations"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def _of(names: _Names, owner: Any) -> str:
    """The dossier a subject belongs to, when it is not the profile's own."""
    if owner is None or str(owner) == str(names.labels.get("organisation")):
        return ""
    return f" du dossier de {names.organisation(owner)}"


def describe_one(op: Mapping[str, Any], names: _Names) -> str:
    """One operation as a French sentence."""
    kind = op.get("op")
    if kind == "add_contact":
        return f"Créer le contact {op.get('first_name')} {op.get('last_name')}"
    if kind == "add_contact_relation":
        return (
            f"Ajouter {names.contact(op.get('contact'))} comme {_relation_label(op.get('type'))}"
            f" de {names.organisation(op.get('organisation_id'))}"
        )
    if kind == "grant_subject":
        return (
            f"Donner à {names.contact(op.get('contact'))} le sujet "
            f"{names.subject(op.get('subject_code'))} ({_right(op.get('right'))})"
            f"{_of(names, op.get('owner_organisation_id'))}"
        )
    if kind == "revoke_grant":
        grant = names.grant(op.get("grant_id"))
        if not grant:
            return "Retirer un sujet autorisé"
        return (
            f"Retirer le sujet {names.subject(grant.get('subject'))} ({_right(grant.get('right'))})"
            f" à {names.contact(grant.get('contact'))}{_of(names, grant.get('owner'))}"
        )
    if kind in ("end_contact_relation", "update_relation_end_date"):
        relation = names.relation(op.get("relation_id"))
        what = (
            f"la relation {_relation_label(relation.get('type'))} de "
            f"{names.contact(relation.get('contact'))}"
            if relation
            else "une relation"
        )
        if kind == "end_contact_relation":
            return f"Mettre fin à {what} {_day(op.get('end_date'))}"
        return f"Fixer la fin de {what} : {_day(op.get('end_date'))}"
    if kind == "update_contact":
        changes = op.get("changes") or {}
        sentence = f"Modifier {_fields(changes)} de {names.contact(op.get('contact_id'))}"
        if "language" in changes:
            sentence += f" (langue : {LANGUAGES.get(changes['language'], ('', ''))[0]})"
        return sentence
    if kind == "update_contact_address":
        return f"Modifier l'adresse de {names.contact(op.get('contact_id'))}"
    if kind == "update_organisation":
        return (
            f"Modifier {_fields(op.get('changes'))} de l'organisation "
            f"{names.organisation(op.get('organisation_id'))}"
        )
    if kind == "update_organisation_address":
        return (
            f"Modifier l'adresse de l'organisation {names.organisation(op.get('organisation_id'))}"
        )
    if kind == "issue_linking_credentials":
        return f"Envoyer les coordonnées de liaison à {names.contact(op.get('contact'))}"
    if kind == "notify_contact":
        return f"Aviser {names.contact(op.get('contact'))} par courriel"
    if isinstance(kind, str) and "phone" in kind:
        who = op.get("contact_id", op.get("contact"))
        return f"Modifier les téléphones de {names.contact(who)}"
    return "Modifier le profil"


def describe(
    changeset: Sequence[Mapping[str, Any]] | None, labels: Mapping[str, Any] | None
) -> list[str]:
    """The changeset as French sentences, one per operation, in order."""
    ops = [op for op in changeset or () if isinstance(op, Mapping)]
    names = _Names(labels or {}, ops)
    return [describe_one(op, names) for op in ops]
