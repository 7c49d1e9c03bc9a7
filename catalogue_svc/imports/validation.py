"""Validation of a dossiers file: each row against its schema, then every reference against the
file and the database; every error is collected, and a plan for the apply phase is built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from forms.fields import normalise_client_number

from ..db import db
from ..linking.models import LegacyCredential
from ..notifications.models import Email
from ..profiles.models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationKind,
    OrganisationRelation,
    OrganisationRelationType,
    Subject,
)
from ..profiles.service import SUBJECTS
from .report import ImportIssue, Progress, json_path, marshmallow_issues
from .schemas import SECTIONS, TOP_LEVEL_EXTRAS, FastLoader

KINDS = (*SECTIONS, "linking_credentials")
KIND_VALUES = frozenset(kind.value for kind in OrganisationKind)
FIRM_KINDS = frozenset({OrganisationKind.ACCOUNTING_FIRM, OrganisationKind.PAYROLL_SERVICE})
FIRM_RELATION = OrganisationRelationType.ACCOUNTING_FIRM.value
LINKING_DEDUPE = "import-linking:"

ORG_FIELDS = ("name", "kind", "language", "email", "phone", "address")
CONTACT_FIELDS = ("first_name", "last_name", "birth_date", "language", "email", "address")
PHONE_FIELDS = ("type", "territory", "country_code", "number", "extension")
RELATION_LABEL = "a comme firme comptable ou serv. de paie"
GRANT_KEY = (
    "subject_id",
    "owner_organisation_id",
    "holder_organisation_id",
    "holder_contact_id",
    "right",
)


def client_number_key(text: str) -> str:
    """The file's or the store's client number as the rows compare it: the forms' normal form
    (upper case, no spaces), or the text itself when it is not one (an error reported elsewhere)."""
    try:
        return normalise_client_number(text)
    except ValidationError:
        return text.strip()


ContactKey = int | str  # an existing contact's id, or the ref of a contact the file creates
RelationKey = tuple[ContactKey, str, str, dt.date]  # contact, organisation cn, type, start
OrgRelationKey = tuple[str, str, str]  # organisation cn, related cn, type


@dataclass
class Snapshot:
    """The rows an import compares against, read once (one query per table)."""

    orgs: dict[str, dict[str, Any]]
    org_cn: dict[int, str]
    contacts: dict[int, dict[str, Any]]
    contact_by_cn: dict[str, int]
    contact_by_ref: dict[str, int]
    phones: dict[int, list[tuple[Any, ...]]]
    relations: dict[tuple[int, int, str, dt.date], dict[str, Any]]
    org_relations: dict[tuple[int, int, str], dict[str, Any]]
    grants: dict[tuple[int, int, int | None, int | None, str], dict[str, Any]]
    legacy: dict[str, dict[str, Any]]
    subjects: dict[str, tuple[int, bool]]
    credentials_sent: set[int]

    @classmethod
    def load(cls) -> Snapshot:
        def rows(model: Any, *names: str, order: bool = False) -> list[dict[str, Any]]:
            stmt = select(*[getattr(model, name).label(name) for name in names])
            if order:
                stmt = stmt.order_by(model.id)
            result = db.session.connection().execute(stmt)  # Core: no ORM result machinery
            return [dict(zip(names, row, strict=True)) for row in result]

        # Keyed by the normal form: a number stored before the one rule ("ab-12") is the file's
        # "AB-12", not a second organisation.
        orgs = {
            client_number_key(r["client_number"]): r
            for r in rows(Organisation, "id", "client_number", *ORG_FIELDS)
        }
        contacts = {
            r["id"]: r for r in rows(Contact, "id", "client_number", "import_ref", *CONTACT_FIELDS)
        }
        phones: dict[int, list[tuple[Any, ...]]] = {}
        P = ContactPhone
        for row in db.session.connection().execute(
            select(P.contact_id, *[getattr(P, name) for name in PHONE_FIELDS]).order_by(
                P.contact_id, P.position, P.id
            )
        ):
            phones.setdefault(row[0], []).append(tuple(row[1:]))
        propagated = ("start_date", "end_date", "active", "ended_at", "end_visible_at")
        # Ordered by id: where several rows share a natural key, the latest one wins.
        relations = {
            (r["contact_id"], r["organisation_id"], r["type"], r["start_date"]): r
            for r in rows(
                ContactRelation,
                "id",
                "contact_id",
                "organisation_id",
                "type",
                *propagated,
                order=True,
            )
        }
        org_relations = {
            (r["organisation_id"], r["related_organisation_id"], r["type"]): r
            for r in rows(
                OrganisationRelation,
                "id",
                "organisation_id",
                "related_organisation_id",
                "type",
                *propagated,
                order=True,
            )
        }
        grants = {
            tuple(r[name] for name in GRANT_KEY): r
            for r in rows(
                Grant,
                "id",
                *GRANT_KEY,
                "contact_relation_id",
                "organisation_relation_id",
                *propagated,
                order=True,
            )
        }
        legacy = {
            r["username"]: r
            for r in rows(
                LegacyCredential, "id", "username", "password_hash", "contact_id", "organisation_id"
            )
        }
        subjects = {
            code: (ident, bool(unavailable))
            for ident, code, unavailable in db.session.execute(
                select(Subject.id, Subject.code, Subject.unavailable_in_delegation)
            )
        }
        sent = {
            int(key[len(LINKING_DEDUPE) :])
            for key in db.session.scalars(
                select(Email.dedupe_key).where(Email.dedupe_key.like(f"{LINKING_DEDUPE}%"))
            )
            if key is not None
        }
        return cls(
            orgs=orgs,
            org_cn={r["id"]: cn for cn, r in orgs.items()},
            contacts=contacts,
            contact_by_cn={
                client_number_key(r["client_number"]): i
                for i, r in contacts.items()
                if r["client_number"]
            },
            contact_by_ref={r["import_ref"]: i for i, r in contacts.items() if r["import_ref"]},
            phones=phones,
            relations=relations,
            org_relations=org_relations,
            grants=grants,
            legacy=legacy,
            subjects=subjects,
            credentials_sent=sent,
        )


@dataclass
class Row:
    """One row that passed its schema: where it was and what it holds."""

    path: str
    data: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The validated file, every reference resolved: what the apply phase needs."""

    rows: dict[str, list[Row]]
    stored_refs: dict[str, int]  # ref → id of the contacts imported before
    contact_match: dict[str, int | None] = field(default_factory=dict)  # file ref → existing id

    def contact_key(self, ref: str) -> ContactKey:
        """The id of the existing contact ``ref`` names, or ``ref`` for one the file creates."""
        if ref in self.contact_match:
            return self.contact_match[ref] or ref
        return self.stored_refs.get(ref, ref)


class Validator:
    """Collects every error of a document; builds the plan when there is none."""

    def __init__(self, snapshot: Snapshot, progress: Progress) -> None:
        self.snap = snapshot
        self.progress = progress
        self.errors: list[ImportIssue] = []
        self.plan = Plan(rows={name: [] for name in SECTIONS}, stored_refs=snapshot.contact_by_ref)
        self.rows = self.plan.rows
        self.contact_match = self.plan.contact_match
        self.contact_key = self.plan.contact_key
        self.org_kind: dict[str, str | None] = {cn: r["kind"] for cn, r in snapshot.orgs.items()}
        self.file_refs: set[str] = set()
        # Pairs named by relation rows that failed their schema: a subject or credential that
        # needs such a relation is not reported too (the relation's own error says it all).
        self.unsure_relations: set[tuple[str, str]] = set()
        self.unsure_org_relations: set[tuple[str, str]] = set()
        self.subject_unavailable = {
            code: unavailable for code, (_, unavailable) in snapshot.subjects.items()
        } | {spec.code: spec.unavailable_in_delegation for spec in SUBJECTS}

    def error(self, path: str, message: str) -> None:
        self.errors.append(ImportIssue(path, message))

    # -- phase 1: the shape of the document and of each row

    def parse(self, document: Any) -> None:
        """Check the parsed document's shape and each row against its schema."""
        if not isinstance(document, dict):
            self.error("$", "Le fichier doit contenir un objet JSON ({ … }) à sa racine.")
            return
        self.parse_members(document.items())

    def parse_members(self, members: Iterable[tuple[str, Any]]) -> None:
        """:meth:`parse` of the root object's members ``(key, value)``, given one at a time
        (:func:`.reader.sections`): each section is checked, then can be dropped."""
        for key, value in members:
            if key in SECTIONS:
                self._parse_section(key, value)
            elif key not in TOP_LEVEL_EXTRAS:
                self.error(
                    json_path("$", key),
                    "Section inconnue. Sections permises : " + ", ".join(SECTIONS) + ".",
                )
            elif key == "version" and value != 1:
                self.error(
                    "$.version",
                    "Version de format non prise en charge : seule la version 1 existe.",
                )

    def _parse_section(self, section: str, items: Any) -> None:
        path = f"$.{section}"
        if not isinstance(items, list):
            self.error(path, "Doit être une liste.")
            return
        loader = FastLoader(SECTIONS[section]())
        rows = self.rows[section]
        for index, item in enumerate(self.progress.track(f"Validation : {section}", items)):
            row_path = f"{path}[{index}]"
            try:
                data = loader.load(item)
            except ValidationError as exc:
                self.errors.extend(marshmallow_issues(row_path, exc.messages))
                self._remember_key(section, item)
                self._remember_unsure(section, item)
                continue
            rows.append(Row(row_path, data))
            self._remember_key(section, data)

    def _remember_unsure(self, section: str, item: Any) -> None:
        if not isinstance(item, dict):
            return
        pair = {
            "contact_relations": ("contact", "organisation"),
            "organisation_relations": ("organisation", "related_organisation"),
        }.get(section)
        if pair is None:
            return
        first, second = (item.get(name) for name in pair)
        if isinstance(first, str) and isinstance(second, str):
            if section == "contact_relations":
                self.unsure_relations.add((first.strip(), client_number_key(second)))
            else:
                self.unsure_org_relations.add((client_number_key(first), client_number_key(second)))

    def _remember_key(self, section: str, item: Any) -> None:
        """Keys of rows (valid or not) count as known, so one bad row does not cascade."""
        if not isinstance(item, dict):
            return
        if section == "organisations" and isinstance(item.get("client_number"), str):
            cn = client_number_key(item["client_number"])
            kind = item.get("kind")
            self.org_kind[cn] = kind if kind in KIND_VALUES else None
        elif section == "contacts" and isinstance(item.get("ref"), str):
            self.file_refs.add(item["ref"].strip())

    # -- phase 2: references, duplicates, and what only the whole picture can tell

    def check(self) -> Plan:
        self._check_organisations()
        self._check_contacts()
        relations = self._check_relations()
        org_relations = self._check_org_relations()
        self._check_grants(relations, org_relations)
        active_pairs = {(key[0], key[1]) for key, active in relations.items() if active}
        self._check_legacy(active_pairs)
        self._check_linking(active_pairs)
        return self.plan

    def _known_org(self, path: str, cn: str) -> bool:
        if cn in self.org_kind:
            return True
        self.error(
            path,
            f"Organisation inconnue : aucun numéro de client « {cn} » dans le "
            "fichier ni dans la base.",
        )
        return False

    def _known_contact(self, path: str, ref: str) -> bool:
        if ref in self.file_refs or ref in self.snap.contact_by_ref:
            return True
        self.error(
            path, f"Contact inconnu : aucune référence « {ref} » dans le fichier ni dans la base."
        )
        return False

    def _first_seen(self, seen: dict[Any, str], key: Any, path: str, what: str) -> bool:
        if key in seen:
            self.error(path, f"{what} en double (déjà à {seen[key]}).")
            return False
        seen[key] = path
        return True

    def _check_organisations(self) -> None:
        seen: dict[str, str] = {}
        for row in self.rows["organisations"]:
            self._first_seen(
                seen, row.data["client_number"], f"{row.path}.client_number", "Numéro de client"
            )

    def _check_contacts(self) -> None:
        refs: dict[str, str] = {}
        numbers: dict[str, str] = {}
        matched: dict[int, str] = {}
        for row in self.rows["contacts"]:
            ref, cn = row.data["ref"], row.data["client_number"]
            ok = self._first_seen(refs, ref, f"{row.path}.ref", "Référence")
            if cn is not None:
                ok = (
                    self._first_seen(numbers, cn, f"{row.path}.client_number", "Numéro de client")
                    and ok
                )
            if not ok:
                continue
            by_cn = self.snap.contact_by_cn.get(cn) if cn else None
            by_ref = self.snap.contact_by_ref.get(ref)
            match: int | None = None
            if by_cn is not None:
                if by_ref is not None and by_ref != by_cn:
                    self.error(
                        f"{row.path}.ref",
                        f"La référence « {ref} » désigne déjà un autre "
                        f"contact que celui du numéro de client « {cn} ».",
                    )
                    continue
                match = by_cn
            elif by_ref is not None:
                existing_cn = self.snap.contacts[by_ref]["client_number"]
                if cn and existing_cn and client_number_key(existing_cn) != cn:
                    self.error(
                        f"{row.path}.client_number",
                        f"Le contact de référence « {ref} » "
                        f"a déjà le numéro de client « {existing_cn} ».",
                    )
                    continue
                match = by_ref
            if match is not None and not self._first_seen(
                matched, match, f"{row.path}.ref", "Contact existant désigné"
            ):
                continue
            self.contact_match[ref] = match

    def _check_relations(self) -> dict[RelationKey, bool]:
        """Check contact relations; returns every relation after the import → active."""
        state: dict[RelationKey, bool] = {}
        for (cid, oid, kind, start), stored in self.snap.relations.items():
            state[(cid, self.snap.org_cn[oid], kind, start)] = bool(stored["active"])
        seen: dict[RelationKey, str] = {}
        for row in self.rows["contact_relations"]:
            d = row.data
            ok = self._known_contact(f"{row.path}.contact", d["contact"])
            ok = self._known_org(f"{row.path}.organisation", d["organisation"]) and ok
            if not ok:
                continue
            key = (self.contact_key(d["contact"]), d["organisation"], d["type"], d["start_date"])
            if self._first_seen(
                seen, key, row.path, "Relation (contact, organisation, type, date de début)"
            ):
                state[key] = d["active"]
        return state

    def _check_org_relations(self) -> dict[OrgRelationKey, tuple[bool, dt.date]]:
        """Check organisation relations; returns every one after the import → (active, start)."""
        state = {
            (self.snap.org_cn[a], self.snap.org_cn[b], kind): (bool(r["active"]), r["start_date"])
            for (a, b, kind), r in self.snap.org_relations.items()
        }
        seen: dict[OrgRelationKey, str] = {}
        for row in self.rows["organisation_relations"]:
            d = row.data
            ok = self._known_org(f"{row.path}.organisation", d["organisation"])
            ok = (
                self._known_org(f"{row.path}.related_organisation", d["related_organisation"])
                and ok
            )
            if not ok:
                continue
            related_kind = self.org_kind.get(d["related_organisation"])
            if related_kind is not None and related_kind not in FIRM_KINDS:
                self.error(
                    f"{row.path}.related_organisation",
                    "L'organisation liée doit être une "
                    "firme comptable ou un service de paie (kind accounting_firm ou "
                    "payroll_service).",
                )
                continue
            key = (d["organisation"], d["related_organisation"], d["type"])
            if self._first_seen(seen, key, row.path, "Relation entre organisations"):
                state[key] = (d["active"], d["start_date"])
        return state

    def _check_grants(
        self,
        relations: dict[RelationKey, bool],
        org_relations: dict[OrgRelationKey, tuple[bool, dt.date]],
    ) -> None:
        starts: dict[tuple[ContactKey, str, str], list[dt.date]] = {}
        for cid, cn, kind, start in relations:
            starts.setdefault((cid, cn, kind), []).append(start)
        seen: dict[Any, str] = {}
        for row in self.progress.track("Vérification : grants", self.rows["grants"]):
            d, holder = row.data, row.data["holder"]
            hpath = f"{row.path}.holder"
            ok = True
            if d["subject"] not in self.subject_unavailable:
                self.error(
                    f"{row.path}.subject",
                    f"Sujet autorisé inconnu : « {d['subject']} ». "
                    "Codes permis : " + ", ".join(sorted(self.subject_unavailable)) + ".",
                )
                ok = False
            ok = self._known_org(f"{row.path}.owner", d["owner"]) and ok
            if holder["organisation"] is not None:
                ok = self._known_org(f"{hpath}.organisation", holder["organisation"]) and ok
            else:
                ok = self._known_contact(f"{hpath}.contact", holder["contact"]) and ok
                relation_org = holder["relation"]["organisation"]
                if relation_org is not None:
                    ok = self._known_org(f"{hpath}.relation.organisation", relation_org) and ok
            if not ok:
                continue
            if holder["organisation"] is not None:
                self._grant_to_organisation(row, org_relations, seen)
            else:
                self._grant_to_contact(row, relations, starts, org_relations, seen)

    def _org_relation(
        self,
        row: Row,
        path: str,
        owner: str,
        firm: str,
        org_relations: dict[OrgRelationKey, tuple[bool, dt.date]],
    ) -> tuple[bool, dt.date] | None:
        found = org_relations.get((owner, firm, FIRM_RELATION))
        if found is None and (owner, firm) in self.unsure_org_relations:
            return None
        if found is None:
            self.error(
                path,
                f"Aucune relation « {RELATION_LABEL} » de l'organisation {owner} "
                f"vers {firm}, dans le fichier ni dans la base.",
            )
            return None
        if row.data["active"] and not found[0]:
            self.error(
                path,
                f"La relation « {RELATION_LABEL} » de {owner} vers {firm} est "
                "inactive : un sujet actif ne peut pas passer par elle.",
            )
            return None
        return found

    def _grant_to_organisation(
        self,
        row: Row,
        org_relations: dict[OrgRelationKey, tuple[bool, dt.date]],
        seen: dict[Any, str],
    ) -> None:
        d = row.data
        holder = d["holder"]["organisation"]
        path = f"{row.path}.holder.organisation"
        if holder == d["owner"]:
            self.error(
                path,
                "Une organisation ne détient pas de sujet sur son propre dossier : "
                "le détenteur doit être une autre organisation ou un contact.",
            )
            return
        found = self._org_relation(row, path, d["owner"], holder, org_relations)
        if found is None:
            return
        key = (d["subject"], d["owner"], ("organisation", holder), d["right"])
        if not self._first_seen(
            seen, key, row.path, "Sujet autorisé (sujet, propriétaire, détenteur, droit)"
        ):
            return
        row.extra = {
            "org_relation": (d["owner"], holder, FIRM_RELATION),
            "start": d["start_date"] or found[1],
        }
        self._check_grant_period(row)

    def _grant_to_contact(
        self,
        row: Row,
        relations: dict[RelationKey, bool],
        starts: dict[tuple[ContactKey, str, str], list[dt.date]],
        org_relations: dict[OrgRelationKey, tuple[bool, dt.date]],
        seen: dict[Any, str],
    ) -> None:
        d, holder = row.data, row.data["holder"]
        rel = holder["relation"]
        rel_org = rel["organisation"] or d["owner"]
        contact = self.contact_key(holder["contact"])
        path = f"{row.path}.holder.relation"
        key = (d["subject"], d["owner"], ("contact", contact), d["right"])
        if not self._first_seen(
            seen, key, row.path, "Sujet autorisé (sujet, propriétaire, détenteur, droit)"
        ):
            return
        delegation = rel_org != d["owner"]
        if delegation and self.subject_unavailable.get(d["subject"]):
            self.error(
                f"{row.path}.subject",
                f"Le sujet « {d['subject']} » n'est pas offert par délégation (limitation de la "
                "phase 1) : l'employeur doit ajouter la personne comme contact de sa propre "
                "entreprise.",
            )
            return
        if rel["start_date"] is not None:
            exact = (contact, rel_org, rel["type"], rel["start_date"])
            candidates = [rel["start_date"]] if exact in relations else []
        else:
            candidates = starts.get((contact, rel_org, rel["type"]), [])
        if not candidates:
            if (holder["contact"], rel_org) not in self.unsure_relations:
                since = (
                    f" commençant le {rel['start_date'].isoformat()}" if rel["start_date"] else ""
                )
                self.error(
                    path,
                    f"Aucune relation « {rel['type']} » entre le contact « {holder['contact']} » "
                    f"et l'organisation {rel_org}{since}, dans le fichier ni dans la base.",
                )
            return
        # Without a start date, the relation is the active one, the latest if several are.
        start = max(candidates, key=lambda s: (relations[(contact, rel_org, rel["type"], s)], s))
        relation_key = (contact, rel_org, rel["type"], start)
        if d["active"] and not relations[relation_key]:
            self.error(
                path, "Cette relation est inactive : un sujet actif ne peut pas passer par elle."
            )
            return
        grant_start = start
        org_relation = None
        if delegation:
            # A firm's member holds a subject of a client's dossier, through the firm.
            found = self._org_relation(
                row, path + ".organisation", d["owner"], rel_org, org_relations
            )
            if found is None:
                return
            org_relation = (d["owner"], rel_org, FIRM_RELATION)
            grant_start = max(start, found[1])
        row.extra = {
            "relation": relation_key,
            "org_relation": org_relation,
            "start": d["start_date"] or grant_start,
        }
        self._check_grant_period(row)

    def _check_grant_period(self, row: Row) -> None:
        start, end = row.extra["start"], row.data["end_date"]
        if end < start:
            self.error(
                f"{row.path}.end_date",
                f"La date de fin ({end.isoformat()}) précède la "
                f"date de début du sujet ({start.isoformat()}).",
            )

    def _check_legacy(self, active_pairs: set[tuple[ContactKey, str]]) -> None:
        seen: dict[str, str] = {}
        for row in self.rows["legacy_credentials"]:
            d = row.data
            self._first_seen(seen, d["username"], f"{row.path}.username", "Nom d'utilisateur")
            ok = self._known_contact(f"{row.path}.contact", d["contact"])
            ok = self._known_org(f"{row.path}.organisation", d["organisation"]) and ok
            pair = (d["contact"], d["organisation"])
            if (
                ok
                and (self.contact_key(d["contact"]), d["organisation"]) not in active_pairs
                and pair not in self.unsure_relations
            ):
                self.error(
                    f"{row.path}.organisation",
                    f"Le contact « {d['contact']} » n'a aucune "
                    f"relation active avec l'organisation {d['organisation']}.",
                )

    def _check_linking(self, active_pairs: set[tuple[ContactKey, str]]) -> None:
        for row in self.rows["contacts"]:
            d = row.data
            if not d["send_linking_credentials"] or d["ref"] not in self.contact_match:
                continue
            path = f"{row.path}.linking_organisation"
            cn = d["linking_organisation"]
            if (
                self._known_org(path, cn)
                and (self.contact_key(d["ref"]), cn) not in active_pairs
                and (d["ref"], cn) not in self.unsure_relations
            ):
                self.error(
                    path,
                    f"Le contact « {d['ref']} » n'a aucune relation active avec "
                    f"l'organisation {cn} : ses coordonnées de liaison ne lieraient rien.",
                )
