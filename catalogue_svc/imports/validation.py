"""Validation of a dossiers file: each row against its schema, then every reference against the
file and the database; every error is collected, and a plan for the apply phase is built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from marshmallow import ValidationError

from . import reader
from .fast_loader import FastLoader
from .references import ReferenceChecks
from .report import json_path, marshmallow_issues
from .schemas import SECTIONS, TOP_LEVEL_EXTRAS
from .snapshot import (
    FIRM_KINDS,
    KIND_VALUES,
    OrgRelationKey,
    Plan,
    RelationKey,
    Row,
    Snapshot,
    client_number_key,
)

__all__ = ["SECTIONS", "Snapshot", "Validator"]


class Validator(ReferenceChecks):
    """Collects every error of a document; builds the plan when there is none."""

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
        if not isinstance(items, list | reader.Items):
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
        # The refs of the valid contacts are contact_match's keys now: file_refs keeps only
        # the others (rows with errors), which still count as known.
        self.file_refs = {ref for ref in self.file_refs if ref not in self.contact_match}
        relations = self._check_relations()
        org_relations = self._check_org_relations()
        self._check_grants(relations, org_relations)
        active_pairs = {(key[0], key[1]) for key, active in relations.items() if active}
        self._check_legacy(active_pairs)
        self._check_linking(active_pairs)
        return self.plan

    def _check_organisations(self) -> None:
        seen: dict[str, int | str] = {}
        for row in self.rows["organisations"]:
            self._first_seen(
                seen, row.data["client_number"], f"{row.path}.client_number", "Numéro de client"
            )

    def _check_contacts(self) -> None:
        refs: dict[str, int | str] = {}
        numbers: dict[str, int | str] = {}
        matched: dict[int, int | str] = {}
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
            self.contact_match[ref] = ref if match is None else match

    def _check_relations(self) -> dict[RelationKey, bool]:
        """Check contact relations; returns every relation after the import → active."""
        state: dict[RelationKey, bool] = {}
        for (cid, oid, kind, start), stored in self.snap.relations.items():
            state[(cid, self.snap.org_cn[oid], kind, start)] = bool(stored["active"])
        seen: dict[RelationKey, int | str] = {}
        for row in self.rows["contact_relations"]:
            d = row.data
            ok = self._known_contact(f"{row.path}.contact", d["contact"])
            ok = self._known_org(f"{row.path}.organisation", d["organisation"]) and ok
            if not ok:
                continue
            same = self.canon.setdefault
            key = (
                self.contact_key(d["contact"]),
                same(d["organisation"], d["organisation"]),
                same(d["type"], d["type"]),
                same(d["start_date"], d["start_date"]),
            )
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
        seen: dict[OrgRelationKey, int | str] = {}
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
