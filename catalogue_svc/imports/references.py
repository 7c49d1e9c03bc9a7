"""Checks of an import across rows that need the whole file and the database: the state the
validator keeps while it reads the file, and the references of grants, legacy credentials and
linking credentials (their holders, relations, periods and subjects)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..profiles.service import SUBJECTS
from .report import ImportIssue, Progress
from .schemas import SECTIONS
from .snapshot import (
    FIRM_RELATION,
    RELATION_LABEL,
    ContactKey,
    OrgRelationKey,
    Plan,
    RelationKey,
    Row,
    Snapshot,
)
from .spool import RowSpool

Starts = dt.date | list[dt.date]


@dataclass
class _GrantIndex:
    """What each grant is checked against: the contacts' relations (active or not), their start
    dates by (contact, organisation, type), the organisations' relations, the grants seen."""

    relations: dict[RelationKey, bool]
    starts: dict[tuple[ContactKey, str, str], Starts]
    org_relations: dict[OrgRelationKey, tuple[bool, dt.date]]
    seen: dict[Any, int | str] = field(default_factory=dict)


class ReferenceChecks:
    """The validator's state and its checks of grants and credentials (:class:`.Validator`)."""

    def __init__(self, snapshot: Snapshot, progress: Progress) -> None:
        self.snap = snapshot
        self.progress = progress
        self.errors: list[ImportIssue] = []
        self.plan = Plan(
            rows={name: RowSpool() for name in SECTIONS}, stored_refs=snapshot.contact_by_ref
        )
        self.rows = self.plan.rows
        self.contact_match = self.plan.contact_match
        self.contact_key = self.plan.contact_key
        self.org_kind: dict[str, str | None] = {cn: r["kind"] for cn, r in snapshot.orgs.items()}
        self.file_refs: set[str] = set()
        # One object for each value that many rows repeat (client numbers, types, dates,
        # subjects, rights): the keys of the checks' maps share them instead of holding each
        # row's own copy (rows read back from the spool are new objects).
        self.canon: dict[Any, Any] = {}
        # Pairs named by relation rows that failed their schema: a subject or credential that
        # needs such a relation is not reported too (the relation's own error says it all).
        self.unsure_relations: set[tuple[str, str]] = set()
        self.unsure_org_relations: set[tuple[str, str]] = set()
        self.subject_unavailable = {
            code: unavailable for code, (_, unavailable) in snapshot.subjects.items()
        } | {spec.code: spec.unavailable_in_delegation for spec in SUBJECTS}

    def error(self, path: str, message: str) -> None:
        self.errors.append(ImportIssue(path, message))

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
        if ref in self.contact_match or ref in self.file_refs or ref in self.snap.contact_by_ref:
            return True
        self.error(
            path, f"Contact inconnu : aucune référence « {ref} » dans le fichier ni dans la base."
        )
        return False

    def _first_seen(self, seen: dict[Any, int | str], key: Any, path: str, what: str) -> bool:
        """False, with an error, when ``key`` was seen at an earlier row. ``seen`` keeps the
        earlier row's index, not its path (a third of the memory on a million rows): each map
        serves one check, whose paths differ only by the row's index."""
        if key in seen:
            earlier = seen[key]
            if isinstance(earlier, int):
                start = path.index("[")
                earlier = f"{path[: start + 1]}{earlier}{path[path.index(']', start) :]}"
            self.error(path, f"{what} en double (déjà à {earlier}).")
            return False
        start = path.find("[")
        end = path.find("]", start)
        index = path[start + 1 : end]
        seen[key] = int(index) if start >= 0 and end > start and index.isdigit() else path
        return True

    def _check_grants(
        self,
        relations: dict[RelationKey, bool],
        org_relations: dict[OrgRelationKey, tuple[bool, dt.date]],
    ) -> None:
        # (contact, organisation, type) → its start date, or its dates when there are several
        # (a list only then: most contacts have one relation of a type with an organisation).
        starts: dict[tuple[ContactKey, str, str], Starts] = {}
        for cid, cn, kind, start in relations:
            pair = (cid, cn, kind)
            known = starts.get(pair)
            if known is None:
                starts[pair] = start
            elif isinstance(known, list):
                known.append(start)
            else:
                starts[pair] = [known, start]
        index = _GrantIndex(relations, starts, org_relations)
        checked = RowSpool()  # the rows again, with what the checks found (``row.extra``)
        for row in self.progress.track("Vérification : grants", self.rows["grants"]):
            self._check_grant(row, index)
            checked.append(row)
        self.rows["grants"].close()
        self.rows["grants"] = checked

    def _check_grant(self, row: Row, index: _GrantIndex) -> None:
        """One grant's references; what they resolve to goes in ``row.extra``."""
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
            return
        if holder["organisation"] is not None:
            self._grant_to_organisation(row, index)
        else:
            self._grant_to_contact(row, index)

    def _first_grant(self, row: Row, index: _GrantIndex, holder: Any) -> bool:
        """False, with an error, when a grant of the same subject, owner, ``holder`` and right
        came at an earlier row."""
        d, same = row.data, self.canon.setdefault
        key = (
            same(d["subject"], d["subject"]),
            same(d["owner"], d["owner"]),
            holder,
            same(d["right"], d["right"]),
        )
        return self._first_seen(
            index.seen, key, row.path, "Sujet autorisé (sujet, propriétaire, détenteur, droit)"
        )

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

    def _grant_to_organisation(self, row: Row, index: _GrantIndex) -> None:
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
        found = self._org_relation(row, path, d["owner"], holder, index.org_relations)
        if found is None:
            return
        # A contact is its key alone (an int or a str), an organisation holder a tuple.
        if not self._first_grant(
            row, index, ("organisation", self.canon.setdefault(holder, holder))
        ):
            return
        row.extra = {
            "org_relation": (d["owner"], holder, FIRM_RELATION),
            "start": d["start_date"] or found[1],
        }
        self._check_grant_period(row)

    def _grant_to_contact(self, row: Row, index: _GrantIndex) -> None:
        d, holder = row.data, row.data["holder"]
        rel = holder["relation"]
        rel_org = rel["organisation"] or d["owner"]
        contact = self.contact_key(holder["contact"])
        path = f"{row.path}.holder.relation"
        if not self._first_grant(row, index, contact):
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
            candidates = [rel["start_date"]] if exact in index.relations else []
        else:
            known = index.starts.get((contact, rel_org, rel["type"]))
            candidates = [] if known is None else known if isinstance(known, list) else [known]
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
        relations = index.relations
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
                row, path + ".organisation", d["owner"], rel_org, index.org_relations
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
        seen: dict[str, int | str] = {}
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
