"""A changeset: the plain operations a form turns its variables into, stored as JSON until applied.

A contact (or relation) reference is either the id of an existing row (``int``) or ``"new:<ref>"``
for a row created by an earlier operation of the same changeset (``AddContact(ref=...)``,
``AddContactRelation(ref=...)``). The service applies the operations in order, in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "OPERATIONS",
    "AddContact",
    "AddContactRelation",
    "AddPhone",
    "ChangePhone",
    "EndContactRelation",
    "GrantSubject",
    "IssueLinkingCredentials",
    "NotifyContact",
    "Operation",
    "Ref",
    "RemovePhone",
    "ReplacePhones",
    "RevokeGrant",
    "UpdateContact",
    "UpdateContactAddress",
    "UpdateOrganisation",
    "UpdateOrganisationAddress",
    "UpdateRelationEndDate",
    "from_dict",
    "from_dicts",
    "is_new",
    "new_ref",
    "to_dicts",
]

NEW_PREFIX = "new:"

# An existing row's id, or "new:<ref>" for a row created earlier in the same changeset.
Ref = int | str


def new_ref(ref: str) -> str:
    """The reference to the row created by the operation whose ``ref`` is ``ref``."""
    return f"{NEW_PREFIX}{ref}"


def is_new(reference: Ref) -> bool:
    """Whether ``reference`` points at a row created earlier in the changeset."""
    return isinstance(reference, str) and reference.startswith(NEW_PREFIX)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class _Op:
    op: ClassVar[str]
    # Fields holding a date, and keys of ``changes`` holding a date: ISO strings in JSON.
    _date_fields: ClassVar[tuple[str, ...]] = ()
    _date_changes: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-able dict, with its ``op`` name."""
        out: dict[str, Any] = {"op": self.op}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def _from_fields(cls, d: Mapping[str, Any]) -> dict[str, Any]:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names - {"op"}
        if unknown:
            raise ValueError(f"{cls.op}: unknown keys {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: v for k, v in d.items() if k in names}
        for name in cls._date_fields:
            if name in kwargs:
                kwargs[name] = _date(kwargs[name])
        if "changes" in kwargs:
            changes = dict(kwargs["changes"])
            for key in cls._date_changes:
                if key in changes:
                    changes[key] = _date(changes[key])
            kwargs["changes"] = changes
        if "phones" in kwargs:
            kwargs["phones"] = tuple(dict(p) for p in kwargs["phones"])
        return kwargs


@dataclass(frozen=True)
class AddContact(_Op):
    """Create a person; later operations point at it as ``"new:<ref>"``."""

    op: ClassVar[str] = "add_contact"
    _date_fields: ClassVar[tuple[str, ...]] = ("birth_date",)

    ref: str
    first_name: str
    last_name: str
    birth_date: dt.date | None
    email: str | None
    language: str
    phones: tuple[Mapping[str, str | None], ...] = ()
    client_number: str | None = None
    address: Mapping[str, str] | None = None


@dataclass(frozen=True)
class AddContactRelation(_Op):
    """Create a relation of a contact to an organisation; ``ref`` names it for later operations."""

    op: ClassVar[str] = "add_contact_relation"
    _date_fields: ClassVar[tuple[str, ...]] = ("start_date", "end_date")

    ref: str
    contact: Ref
    organisation_id: int
    type: str
    start_date: dt.date
    end_date: dt.date


@dataclass(frozen=True)
class GrantSubject(_Op):
    """Give a contact a right on one subject of ``owner_organisation_id``'s dossier.

    ``organisation_relation_id`` is set for a delegation: the client's relation with the firm.
    """

    op: ClassVar[str] = "grant_subject"

    contact: Ref
    subject_code: str
    owner_organisation_id: int
    right: str
    contact_relation: Ref
    organisation_relation_id: int | None = None


@dataclass(frozen=True)
class RevokeGrant(_Op):
    """End one grant (inactive, kept as history)."""

    op: ClassVar[str] = "revoke_grant"

    grant_id: int


@dataclass(frozen=True)
class EndContactRelation(_Op):
    """End one relation (inactive, end date set, kept as history).

    The changeset revokes the grants tied to it with explicit ``RevokeGrant`` operations placed
    before it.
    """

    op: ClassVar[str] = "end_contact_relation"
    _date_fields: ClassVar[tuple[str, ...]] = ("end_date",)

    relation_id: int
    end_date: dt.date


@dataclass(frozen=True)
class UpdateRelationEndDate(_Op):
    """Change the end date of a relation that stays active."""

    op: ClassVar[str] = "update_relation_end_date"
    _date_fields: ClassVar[tuple[str, ...]] = ("end_date",)

    relation_id: int
    end_date: dt.date


@dataclass(frozen=True)
class UpdateContact(_Op):
    """Change a contact's own columns (``language``, ``first_name``, ``last_name``, ``birth_date``).

    Never ``email``: it changes in the account settings only.
    """

    op: ClassVar[str] = "update_contact"
    _date_changes: ClassVar[tuple[str, ...]] = ("birth_date",)

    contact_id: int
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class ReplacePhones(_Op):
    """Replace a contact's phone numbers by these, in this order (the first is the main one).

    No form builds it any more (it removed the numbers the submitter did not see): the apply
    keeps it for changesets stored before :class:`AddPhone`, :class:`ChangePhone` and
    :class:`RemovePhone`.
    """

    op: ClassVar[str] = "replace_phones"

    contact_id: int
    phones: tuple[Mapping[str, str | None], ...]


@dataclass(frozen=True)
class AddPhone(_Op):
    """Add one phone number after the contact's others (``type``, ``territory``,
    ``country_code``, ``number``, ``extension``)."""

    op: ClassVar[str] = "add_phone"

    contact_id: int
    phone: Mapping[str, str | None]


@dataclass(frozen=True)
class ChangePhone(_Op):
    """Give one phone of the contact these values; the contact's other phones are untouched."""

    op: ClassVar[str] = "change_phone"

    contact_id: int
    phone_id: int
    phone: Mapping[str, str | None]


@dataclass(frozen=True)
class RemovePhone(_Op):
    """Remove one phone of the contact; the others are untouched."""

    op: ClassVar[str] = "remove_phone"

    contact_id: int
    phone_id: int


@dataclass(frozen=True)
class UpdateContactAddress(_Op):
    """Replace a contact's address."""

    op: ClassVar[str] = "update_contact_address"

    contact_id: int
    address: Mapping[str, str]


@dataclass(frozen=True)
class UpdateOrganisation(_Op):
    """Change an organisation's columns (``name``, ``language``, ``email``, ``phone``)."""

    op: ClassVar[str] = "update_organisation"

    organisation_id: int
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class UpdateOrganisationAddress(_Op):
    """Replace an organisation's address."""

    op: ClassVar[str] = "update_organisation_address"

    organisation_id: int
    address: Mapping[str, str]


@dataclass(frozen=True)
class IssueLinkingCredentials(_Op):
    """Issue (or reissue, voiding the previous ones) and email a contact's linking credentials."""

    op: ClassVar[str] = "issue_linking_credentials"

    contact: Ref
    organisation_id: int


@dataclass(frozen=True)
class NotifyContact(_Op):
    """Email a contact (e.g. template ``modification_confirmation``) with these parameters."""

    op: ClassVar[str] = "notify_contact"

    contact: Ref
    template: str
    params: Mapping[str, Any]


Operation = (
    AddContact
    | AddContactRelation
    | GrantSubject
    | RevokeGrant
    | EndContactRelation
    | UpdateRelationEndDate
    | UpdateContact
    | ReplacePhones
    | AddPhone
    | ChangePhone
    | RemovePhone
    | UpdateContactAddress
    | UpdateOrganisation
    | UpdateOrganisationAddress
    | IssueLinkingCredentials
    | NotifyContact
)

OPERATIONS: Mapping[str, type[Operation]] = {
    cls.op: cls
    for cls in (
        AddContact,
        AddContactRelation,
        GrantSubject,
        RevokeGrant,
        EndContactRelation,
        UpdateRelationEndDate,
        UpdateContact,
        ReplacePhones,
        AddPhone,
        ChangePhone,
        RemovePhone,
        UpdateContactAddress,
        UpdateOrganisation,
        UpdateOrganisationAddress,
        IssueLinkingCredentials,
        NotifyContact,
    )
}


def from_dict(d: Mapping[str, Any]) -> Operation:
    """The operation a ``to_dict()`` gave; ``ValueError`` on an unknown op or key."""
    name = d.get("op")
    cls = OPERATIONS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown operation: {name!r}")
    return cls(**cls._from_fields(d))


def to_dicts(operations: list[Operation]) -> list[dict[str, Any]]:
    """A whole changeset as JSON-able dicts."""
    return [o.to_dict() for o in operations]


def from_dicts(items: list[Mapping[str, Any]]) -> list[Operation]:
    """A whole changeset back from its dicts."""
    return [from_dict(d) for d in items]
