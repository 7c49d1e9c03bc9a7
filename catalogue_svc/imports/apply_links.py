"""The apply phase's links: contact and organisation relations, grants (with the subjects that
end with an ended relation), legacy credentials (Argon2id hashing) and the linking credentials'
emails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from forms.profile import ends_with_relations

from ..db import db
from ..linking import service as linking
from ..linking.models import LegacyCredential
from ..passwords import hash_password, verify_password
from ..profiles.models import (
    ContactRelation,
    Grant,
    OrganisationRelation,
)
from .snapshot import (
    GRANT_KEY,
    LINKING_DEDUPE,
    Row,
)
from .writer import ORG_RELATION_KEY, RELATION_KEY, Writer, _diff, _parallel, batches


class LinkWriter(Writer):
    """Writes the relations, grants and credentials of the plan (:class:`.Applier`)."""

    def _relations(self) -> None:
        for batch in batches(
            self.progress.track("Relations des contacts", self.plan.rows["contact_relations"])
        ):
            items = []
            for row in batch:
                d = row.data
                contact = self._contact_id(self.plan.contact_key(d["contact"]))
                org = self.org_ids[d["organisation"]]
                fixed = {
                    "contact_id": contact,
                    "organisation_id": org,
                    "type": d["type"],
                    "start_date": d["start_date"],
                }
                values = {"end_date": d["end_date"], "active": d["active"]}
                items.append(((contact, org, d["type"], d["start_date"]), fixed, values))
            _, ended = self._upsert_propagated(
                "contact_relations", ContactRelation, RELATION_KEY, self.snap.relations, items
            )
            self.ended_relations.update(ended)

    def _org_relations(self) -> None:
        for batch in batches(self.plan.rows["organisation_relations"]):
            items = []
            for row in batch:
                d = row.data
                org = self.org_ids[d["organisation"]]
                related = self.org_ids[d["related_organisation"]]
                fixed = {
                    "organisation_id": org,
                    "related_organisation_id": related,
                    "type": d["type"],
                }
                values = {
                    "start_date": d["start_date"],
                    "end_date": d["end_date"],
                    "active": d["active"],
                }
                items.append(((org, related, d["type"]), fixed, values))
            ids, ended = self._upsert_propagated(
                "organisation_relations",
                OrganisationRelation,
                ORG_RELATION_KEY,
                self.snap.org_relations,
                items,
            )
            self.org_relation_ids.update(ids)  # one a pair of organisations: kept whole
            self.ended_org_relations.update(ended)

    def _relation_ids(self, batch: list[Row]) -> dict[tuple[Any, ...], int]:
        """Natural key → id of the relations of the contacts that hold the grants of ``batch``,
        read from the database (the relations are written by then), rather than kept for the
        whole file. Ordered by id: where several rows share a natural key, the latest wins."""
        contacts = {
            self._contact_id(row.extra["relation"][0])
            for row in batch
            if row.data["holder"]["organisation"] is None
        }
        if not contacts:
            return {}
        R = ContactRelation
        query = (
            select(R.id, R.contact_id, R.organisation_id, R.type, R.start_date)
            .where(R.contact_id.in_(sorted(contacts)))
            .order_by(R.id)
        )
        return {
            (contact, org, kind, start): ident
            for ident, contact, org, kind, start in db.session.connection().execute(query)
        }

    def _grants(self) -> None:
        # The stored subjects that end with a relation this import ended, less those the file
        # gives (the file's own values win): written after the file's grants.
        ending = self._grants_of_ended_relations()
        for batch in batches(self.progress.track("Sujets autorisés", self.plan.rows["grants"])):
            relation_ids = self._relation_ids(batch)
            items = []
            for row in batch:
                d, extra = row.data, row.extra
                owner = self.org_ids[d["owner"]]
                holder_org = holder_contact = relation_id = org_relation_id = None
                if d["holder"]["organisation"] is not None:
                    holder_org = self.org_ids[d["holder"]["organisation"]]
                else:
                    holder_key, rel_org, kind, start = extra["relation"]
                    holder_contact = self._contact_id(holder_key)
                    relation_id = relation_ids[(holder_contact, self.org_ids[rel_org], kind, start)]
                if extra["org_relation"] is not None:
                    a, b, kind = extra["org_relation"]
                    org_relation_id = self.org_relation_ids[
                        (self.org_ids[a], self.org_ids[b], kind)
                    ]
                natural = (
                    self.subject_ids[d["subject"]],
                    owner,
                    holder_org,
                    holder_contact,
                    d["right"],
                )
                values = {
                    "start_date": extra["start"],
                    "end_date": d["end_date"],
                    "active": d["active"],
                    "contact_relation_id": relation_id,
                    "organisation_relation_id": org_relation_id,
                }
                ending.pop(natural, None)
                items.append((natural, dict(zip(GRANT_KEY, natural, strict=True)), values))
            self._upsert_propagated("grants", Grant, GRANT_KEY, self.snap.grants, items)
        for batch_of_ending in batches(list(ending.items())):
            self._upsert_propagated(
                "grants",
                Grant,
                GRANT_KEY,
                self.snap.grants,
                [(natural, {}, values) for natural, values in batch_of_ending],
            )

    def _grants_of_ended_relations(self) -> dict[Any, dict[str, Any]]:
        """Ending a relation ends the stored subjects that go through it
        (``ends_with_relations``, the rule the removal form and a request's apply follow), at
        the earliest of their ends: natural key → the grant's new values."""
        if not self.ended_relations and not self.ended_org_relations:
            return {}
        items: dict[Any, dict[str, Any]] = {}
        for natural, grant in self.snap.grants.items():
            if not grant["active"]:
                continue
            relation_id = grant["contact_relation_id"]
            org_relation_id = grant["organisation_relation_id"]
            if not ends_with_relations(
                relation_id, org_relation_id, self.ended_relations, self.ended_org_relations
            ):
                continue
            ends = [
                self.ended_relations.get(relation_id),
                self.ended_org_relations.get(org_relation_id),
            ]
            relation_end = min((end for end in ends if end is not None), default=None)
            if relation_end is None:
                continue
            values = {
                name: grant[name]
                for name in ("start_date", "contact_relation_id", "organisation_relation_id")
            }
            values.update(active=False, end_date=min(grant["end_date"], relation_end))
            items[natural] = values
        return items

    def _legacy(self) -> None:
        for batch in batches(self.plan.rows["legacy_credentials"]):
            self._legacy_batch(batch)

    def _legacy_batch(self, rows: list[Row]) -> None:
        existing_rows = [(row, self.snap.legacy.get(row.data["username"])) for row in rows]
        to_verify = [
            (old["password_hash"], row.data["password"])
            for row, old in existing_rows
            if old is not None
        ]
        if to_verify:
            self.progress.note(f"Vérification de {len(to_verify)} ancien(s) mot(s) de passe…")
        verified = iter(_parallel(verify_password, to_verify))
        plans: list[tuple[Row, dict[str, Any] | None, bool]] = []
        for row, old in existing_rows:
            plans.append((row, old, old is not None and next(verified)))
        to_hash = [(row.data["password"],) for row, _, still_valid in plans if not still_valid]
        if to_hash:
            self.progress.note(f"Hachage (Argon2id) de {len(to_hash)} mot(s) de passe…")
        hashes = iter(_parallel(hash_password, to_hash))
        creates, updates, unchanged = [], [], 0
        for row, old, still_valid in plans:
            d = row.data
            values = {
                "contact_id": self._contact_id(self.plan.contact_key(d["contact"])),
                "organisation_id": self.org_ids[d["organisation"]],
            }
            new_hash = None if still_valid else next(hashes)
            if old is None:
                creates.append(
                    {
                        "username": d["username"],
                        **values,
                        "password_hash": new_hash,
                        "created_at": self.at,
                    }
                )
                continue
            before, after = _diff(old, values)
            if new_hash is not None:
                before["password"] = after["password"] = "[modifié]"  # noqa: S105 - a marker
            if not after:
                unchanged += 1
                continue
            updates.append(
                (
                    {"id": old["id"], **values, "password_hash": new_hash or old["password_hash"]},
                    before,
                    after,
                )
            )
        self._save(
            "legacy_credentials", LegacyCredential, ("username",), creates, updates, unchanged
        )

    def _linking(self) -> None:
        """The *courriel explicatif*: linking credentials, once per contact, never re-sent."""
        counts = self.counts["linking_credentials"]
        wanted = (
            row.data for row in self.plan.rows["contacts"] if row.data["send_linking_credentials"]
        )
        for d in wanted:
            contact_id = self._contact_id(self.plan.contact_key(d["ref"]))
            if contact_id in self.snap.credentials_sent:
                counts["unchanged"] += 1
                continue
            cn = d["linking_organisation"]
            credential, code = linking.issue(
                contact_id=contact_id, organisation_id=self.org_ids[cn]
            )
            linking.queue_credentials_email(
                to=d["email"],
                language=d["language"],
                first_name=d["first_name"],
                last_name=d["last_name"],
                organisation_name=self.org_names[cn],
                organisation_client_number=cn,
                credential=credential,
                code=code,
                migrated=True,
                contact_id=contact_id,
                dedupe_key=f"{LINKING_DEDUPE}{contact_id}",
            )
            self.snap.credentials_sent.add(contact_id)
            counts["created"] += 1
