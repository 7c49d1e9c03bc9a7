"""Apply a changeset's operations to the profile store, in the caller's transaction.

Each operation writes one ``ProfileChange`` row keyed by ``(request_id, op_index)`` (unique), so an
operation of a request can take effect only once. New relations and grants become visible in the
portal's lists at ``visible_at``; removals show as inactive from ``end_visible_at``; access control
reads ``active``, which changes at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select, update

from forms.base import END_OF_TIME
from forms.profile import AUTHORITY_RELATIONS, ends_with_relations

from ..db import add_row, db, reserve_id
from .models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    ProfileChange,
)
from .snapshot import subjects_in_transaction

# The table each operation adds a row to (ids reserved up front: ``db.reserve_ahead``).
ADDS_A_ROW = {
    "add_contact": "contacts",
    "add_contact_relation": "contact_relations",
    "grant_subject": "grants",
    "issue_linking_credentials": "linking_credentials",
}


_Row = TypeVar("_Row", Contact, Organisation)


class ApplyError(Exception):
    """The changeset no longer makes sense against the store (French message for agents)."""


@dataclass
class ApplyContext:
    """Where the changes come from, and when they become visible."""

    request_id: int | None
    actor_account_id: int | None
    at: dt.datetime
    visible_at: dt.datetime
    source: str = "request"
    refs: dict[str, int] = field(default_factory=dict)
    relation_refs: dict[str, int] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    touched_contacts: set[int] = field(default_factory=set)
    # The rows this changeset created, by id: their ids are reserved (``reserve_id``), so they
    # are read from here without a flush, and ``touches_existing`` tells a batch whether the
    # changeset changed anything a sibling request's view of the profile may hold.
    new_contacts: dict[int, Contact] = field(default_factory=dict)
    new_relations: dict[int, ContactRelation] = field(default_factory=dict)
    touches_existing: bool = False


def _resolved(ref: int | str, made: dict[str, int], what: str) -> int:
    """The id ``ref`` names: an existing row's, or (``new:<key>``) the one the changeset made."""
    if isinstance(ref, int):
        return ref
    key = ref.removeprefix("new:")
    if key not in made:
        raise ApplyError(f"Référence de {what} inconnue : {ref}.")
    return made[key]


def _contact_id(ref: int | str, ctx: ApplyContext) -> int:
    return _resolved(ref, ctx.refs, "contact")


def _relation_id(ref: int | str, ctx: ApplyContext) -> int:
    return _resolved(ref, ctx.relation_refs, "relation")


def _change(
    ctx: ApplyContext,
    index: int,
    entity: str,
    entity_id: int,
    operation: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    add_row(
        ProfileChange,
        {
            "at": ctx.at,
            "actor_account_id": ctx.actor_account_id,
            "source": ctx.source,
            "request_id": ctx.request_id,
            "op_index": index if ctx.request_id is not None else None,
            "entity": entity,
            "entity_id": entity_id,
            "operation": operation,
            "before": before,
            "after": after,
        },
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}


def _end_relation(relation: ContactRelation, end_date: dt.date, ctx: ApplyContext) -> list[int]:
    """End a relation and revoke every grant that goes through it; returns the revoked ids."""
    _end(ContactRelation, ContactRelation.id == relation.id, end_date, ctx)
    # The WHERE only narrows the read to the relation's grants (by index); the rule decides.
    ended = {relation.id}
    grant_ids = [
        grant_id
        for grant_id, contact_relation_id, organisation_relation_id in db.session.execute(
            select(Grant.id, Grant.contact_relation_id, Grant.organisation_relation_id).where(
                Grant.contact_relation_id == relation.id, Grant.active.is_(True)
            )
        )
        if ends_with_relations(contact_relation_id, organisation_relation_id, ended)
    ]
    _revoke(grant_ids, end_date, ctx)
    return grant_ids


def _revoke(grant_ids: list[int], end_date: dt.date, ctx: ApplyContext) -> None:
    if grant_ids:
        _end(Grant, Grant.id.in_(grant_ids), end_date, ctx)


def _end(
    model: type[ContactRelation | Grant], which: Any, end_date: dt.date, ctx: ApplyContext
) -> None:
    """End the active rows of ``model`` that ``which`` selects: inactive at once, shown ended
    from ``visible_at``, with the request that ended them (history is never deleted)."""
    db.session.execute(
        update(model)
        .where(which, model.active.is_(True))
        .values(
            active=False,
            end_date=end_date,
            ended_at=ctx.at,
            end_visible_at=ctx.visible_at,
            ended_by_request_id=ctx.request_id,
        )
        .execution_options(synchronize_session=False)
    )


def _phones(contact: Contact, phones: Any) -> None:
    for position, phone in enumerate(phones or ()):
        p = dict(phone)
        contact.phones.append(
            ContactPhone(
                position=position,
                type=p.get("type") or "principal",
                territory=p.get("territory") or "Amérique du Nord",
                country_code=p.get("country_code") or "+1",
                number=p["number"],
                extension=p.get("extension"),
            )
        )


def _add_contact(op: Any, index: int, ctx: ApplyContext) -> None:
    contact = Contact(
        id=reserve_id(Contact),
        first_name=op.first_name,
        last_name=op.last_name,
        birth_date=op.birth_date,
        email=op.email,
        language=op.language or "fr",
        client_number=op.client_number or None,
        address=dict(op.address) if op.address else None,
        created_by_request_id=ctx.request_id,
    )
    _phones(contact, op.phones)
    db.session.add(contact)
    ctx.refs[op.ref] = contact.id
    ctx.new_contacts[contact.id] = contact
    ctx.touched_contacts.add(contact.id)
    after = {"first_name": contact.first_name, "last_name": contact.last_name}
    _change(ctx, index, "contact", contact.id, op.op, None, after)


def _add_contact_relation(op: Any, index: int, ctx: ApplyContext) -> None:
    contact_id = _contact_id(op.contact, ctx)
    if contact_id not in ctx.new_contacts or op.type in AUTHORITY_RELATIONS:
        ctx.touches_existing = True  # an existing contact's relations, or the firm's authority
    relation = ContactRelation(
        id=reserve_id(ContactRelation),
        contact_id=contact_id,
        organisation_id=op.organisation_id,
        type=op.type,
        start_date=op.start_date or ctx.at.date(),
        end_date=op.end_date or END_OF_TIME,
        active=True,
        applied_at=ctx.at,
        visible_at=ctx.visible_at,
        created_by_request_id=ctx.request_id,
    )
    db.session.add(relation)
    ctx.new_relations[relation.id] = relation
    if getattr(op, "ref", None):
        ctx.relation_refs[op.ref] = relation.id
    after = {"contact_id": contact_id, "organisation_id": op.organisation_id, "type": op.type}
    _change(ctx, index, "contact_relation", relation.id, op.op, None, after)


def _grant_subject(op: Any, index: int, ctx: ApplyContext) -> None:
    subject = next((s for s in subjects_in_transaction() if s.code == op.subject_code), None)
    if subject is None:
        raise ApplyError(f"Sujet autorisé inconnu : {op.subject_code}.")
    relation_id = _relation_id(op.contact_relation, ctx)
    relation = ctx.new_relations.get(relation_id) or db.session.get(ContactRelation, relation_id)
    if relation is None or not relation.active:
        raise ApplyError("La relation du contact n'est plus active.")
    holder_contact_id = _contact_id(op.contact, ctx)
    if relation_id not in ctx.new_relations or holder_contact_id not in ctx.new_contacts:
        ctx.touches_existing = True
    grant = Grant(
        id=reserve_id(Grant),
        subject_id=subject.id,
        owner_organisation_id=op.owner_organisation_id,
        right=op.right,
        holder_contact_id=holder_contact_id,
        contact_relation_id=relation_id,
        organisation_relation_id=op.organisation_relation_id,
        start_date=ctx.at.date(),
        end_date=END_OF_TIME,
        active=True,
        applied_at=ctx.at,
        visible_at=ctx.visible_at,
        created_by_request_id=ctx.request_id,
    )
    db.session.add(grant)
    after = {"subject": op.subject_code, "right": op.right}
    _change(ctx, index, "grant", grant.id, op.op, None, after)


def _revoke_grant(op: Any, index: int, ctx: ApplyContext) -> None:
    grant = db.session.get(Grant, op.grant_id)
    if grant is None or not grant.active:
        raise ApplyError("Le sujet autorisé à retirer n'est plus actif.")
    _revoke([grant.id], ctx.at.date(), ctx)
    _change(ctx, index, "grant", grant.id, op.op, {"active": True}, {"active": False})


def _active_relation(relation_id: int, message: str) -> ContactRelation:
    relation = db.session.get(ContactRelation, relation_id)
    if relation is None or not relation.active:
        raise ApplyError(message)
    return relation


def _end_contact_relation(op: Any, index: int, ctx: ApplyContext) -> None:
    relation = _active_relation(op.relation_id, "La relation à retirer n'est plus active.")
    revoked = _end_relation(relation, op.end_date or ctx.at.date(), ctx)
    after = {"active": False, "revoked_grants": revoked}
    _change(ctx, index, "contact_relation", relation.id, op.op, {"active": True}, after)


def _update_relation_end_date(op: Any, index: int, ctx: ApplyContext) -> None:
    relation = _active_relation(op.relation_id, "La relation à modifier n'est plus active.")
    before = {"end_date": relation.end_date.isoformat()}
    relation.end_date = op.end_date
    after = {"end_date": op.end_date.isoformat()}
    _change(ctx, index, "contact_relation", relation.id, op.op, before, after)


def _existing(model: type[_Row], row_id: int, message: str) -> _Row:
    """The row of ``model`` called ``row_id``; ApplyError with ``message`` when it is gone."""
    row = db.session.get(model, row_id)
    if row is None:
        raise ApplyError(message)
    return row


def _existing_contact(contact_id: int) -> Contact:
    return _existing(Contact, contact_id, "Le contact n'existe plus.")


def _existing_organisation(organisation_id: int) -> Organisation:
    return _existing(Organisation, organisation_id, "L'organisation n'existe plus.")


def _set_columns(
    ctx: ApplyContext, index: int, op: Any, row: Contact | Organisation, changes: dict[str, Any]
) -> None:
    """Set the columns ``changes`` names on the contact or organisation ``row``, and record the
    change (values before and after, dates as ISO text)."""
    before = _jsonable({k: getattr(row, k) for k in changes})
    for key, value in changes.items():
        setattr(row, key, value)
    entity = "contact" if isinstance(row, Contact) else "organisation"
    _change(ctx, index, entity, row.id, op.op, before, _jsonable(changes))


def _update_contact(op: Any, index: int, ctx: ApplyContext) -> None:
    contact = _existing_contact(op.contact_id)
    # The email is never changed by a form: only the account settings change an address.
    changes = {k: v for k, v in dict(op.changes).items() if k != "email"}
    ctx.touched_contacts.add(contact.id)
    _set_columns(ctx, index, op, contact, changes)


def _replace_phones(op: Any, index: int, ctx: ApplyContext) -> None:
    contact = _existing_contact(op.contact_id)
    before: dict[str, Any] = {"phones": [p.number for p in contact.phones]}
    contact.phones.clear()
    db.session.flush()
    _phones(contact, op.phones)
    ctx.touched_contacts.add(contact.id)
    after: dict[str, Any] = {"phones": [p.number for p in contact.phones]}
    _change(ctx, index, "contact", contact.id, op.op, before, after)


def _phone_values(phone: ContactPhone) -> dict[str, Any]:
    return {
        "type": phone.type,
        "territory": phone.territory,
        "country_code": phone.country_code,
        "number": phone.number,
        "extension": phone.extension,
    }


def _took_effect(ctx: ApplyContext, index: int) -> bool:
    """Whether this operation of this request already took effect: its ``ProfileChange`` row,
    unique per (request, operation), is there. An apply that runs again then changes nothing."""
    if ctx.request_id is None:
        return False
    return (
        db.session.scalar(
            select(ProfileChange.id).where(
                ProfileChange.request_id == ctx.request_id, ProfileChange.op_index == index
            )
        )
        is not None
    )


def _contact_phone(op: Any, message: str) -> ContactPhone | None:
    """The phone ``op`` names, if it still exists; ApplyError when it is another contact's."""
    phone = db.session.get(ContactPhone, op.phone_id)
    if phone is not None and phone.contact_id != op.contact_id:
        raise ApplyError(message)
    return phone


def _add_phone(op: Any, index: int, ctx: ApplyContext) -> None:
    contact = _existing_contact(op.contact_id)
    last = db.session.scalar(
        select(func.max(ContactPhone.position)).where(ContactPhone.contact_id == contact.id)
    )
    values = dict(op.phone)
    phone = ContactPhone(
        contact_id=contact.id,
        position=(last + 1) if last is not None else 0,
        type=values.get("type") or "principal",
        territory=values.get("territory") or "Amérique du Nord",
        country_code=values.get("country_code") or "+1",
        number=values["number"],
        extension=values.get("extension"),
    )
    db.session.add(phone)
    db.session.flush()  # its id, for the change row
    ctx.touched_contacts.add(contact.id)
    _change(ctx, index, "contact_phone", phone.id, op.op, None, _phone_values(phone))


def _change_phone(op: Any, index: int, ctx: ApplyContext) -> None:
    phone = _contact_phone(op, "Le numéro de téléphone à modifier n'est pas à ce contact.")
    if phone is None:
        raise ApplyError("Le numéro de téléphone à modifier n'existe plus.")
    before = _phone_values(phone)
    for key in ("type", "territory", "country_code", "number", "extension"):
        if key in op.phone:
            setattr(phone, key, op.phone[key])
    ctx.touched_contacts.add(phone.contact_id)
    _change(ctx, index, "contact_phone", phone.id, op.op, before, _phone_values(phone))


def _remove_phone(op: Any, index: int, ctx: ApplyContext) -> None:
    phone = _contact_phone(op, "Le numéro de téléphone à retirer n'est pas à ce contact.")
    if phone is None:
        return  # already gone: what the operation asks for
    contact = _existing_contact(op.contact_id)
    others = db.session.scalar(
        select(func.count())
        .select_from(ContactPhone)
        .where(ContactPhone.contact_id == contact.id, ContactPhone.id != phone.id)
    )
    if not others and not contact.email:
        raise ApplyError(
            "Le contact n'aurait plus aucun moyen de communication (ni téléphone ni courriel)."
        )
    before = _phone_values(phone)
    db.session.delete(phone)
    ctx.touched_contacts.add(contact.id)
    _change(ctx, index, "contact_phone", op.phone_id, op.op, before, None)


def _update_contact_address(op: Any, index: int, ctx: ApplyContext) -> None:
    contact = _existing_contact(op.contact_id)
    _set_columns(ctx, index, op, contact, {"address": dict(op.address)})


def _update_organisation(op: Any, index: int, ctx: ApplyContext) -> None:
    organisation = _existing_organisation(op.organisation_id)
    _set_columns(ctx, index, op, organisation, dict(op.changes))


def _update_organisation_address(op: Any, index: int, ctx: ApplyContext) -> None:
    organisation = _existing_organisation(op.organisation_id)
    _set_columns(ctx, index, op, organisation, {"address": dict(op.address)})


def _issue_linking_credentials(op: Any, index: int, ctx: ApplyContext) -> None:
    contact_id = _contact_id(op.contact, ctx)
    ctx.emails.append(
        {"kind": "linking", "contact_id": contact_id, "organisation_id": op.organisation_id}
    )
    _change(ctx, index, "contact", contact_id, op.op, None, None)


def _notify_contact(op: Any, index: int, ctx: ApplyContext) -> None:
    contact_id = _contact_id(op.contact, ctx)
    ctx.emails.append(
        {
            "kind": "notify",
            "contact_id": contact_id,
            "template": op.template,
            "params": dict(op.params or {}),
        }
    )
    _change(ctx, index, "contact", contact_id, op.op, None, {"template": op.template})


_APPLY = {
    "add_contact": _add_contact,
    "add_contact_relation": _add_contact_relation,
    "grant_subject": _grant_subject,
    "revoke_grant": _revoke_grant,
    "end_contact_relation": _end_contact_relation,
    "update_relation_end_date": _update_relation_end_date,
    "update_contact": _update_contact,
    "replace_phones": _replace_phones,  # changesets stored before the three below
    "add_phone": _add_phone,
    "change_phone": _change_phone,
    "remove_phone": _remove_phone,
    "update_contact_address": _update_contact_address,
    "update_organisation": _update_organisation,
    "update_organisation_address": _update_organisation_address,
    "issue_linking_credentials": _issue_linking_credentials,
    "notify_contact": _notify_contact,
}


def apply_operation(op: Any, index: int, ctx: ApplyContext) -> None:
    """Apply one operation of a changeset."""
    handler = _APPLY.get(op.op)
    if handler is None:
        raise ApplyError(f"Opération inconnue : {op.op}.")
    if op.op not in _CREATING:
        ctx.touches_existing = True
    if op.op in _NOT_IDEMPOTENT and _took_effect(ctx, index):
        return
    handler(op, index, ctx)


# Operations that would act a second time when a request's apply runs again (a phone added
# twice, a changed number changed back): each runs only while its change row is absent.
_NOT_IDEMPOTENT = frozenset({"add_phone", "change_phone", "remove_phone"})

# Operations that only add rows (the ones they add to existing entities set ``touches_existing``
# themselves) or only queue emails.
_CREATING = frozenset(
    {
        "add_contact",
        "add_contact_relation",
        "grant_subject",
        "issue_linking_credentials",
        "notify_contact",
    }
)
