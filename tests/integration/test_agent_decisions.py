"""The agent's core path as users meet it: merges that change nothing, explicit duplicate
decisions, failed requests kept in sight, names instead of ids, delegation without relation type
(issue 13, items 1, 2, 3, 7 and 8)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactRelation, Grant
from tests.factories import START, add_grant
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER, state_of, submit
from tests.servers import body

CLIENT_NUMBER = "7654321"
WITH_NUMBER = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": CLIENT_NUMBER}}


def _julie(firm, *, member: bool, subject: bool) -> int:
    """Julie Levesque, already in the store with the client number; a member of the firm, and
    holding Rapport mensuel, when asked."""
    julie = Contact(
        first_name="Julie",
        last_name="Levesque",
        birth_date=dt.date(1990, 5, 17),
        email="julie.l@ailleurs.example",
        client_number=CLIENT_NUMBER,
    )
    db.session.add(julie)
    db.session.flush()
    if member:
        relation = ContactRelation(
            contact_id=julie.id,
            organisation_id=firm.firm,
            type="membre_personnel",
            start_date=START,
        )
        db.session.add(relation)
        db.session.flush()
        if subject:
            add_grant(
                firm, "rapport_mensuel", contact=julie.id, relation=relation.id, right="write"
            )
    db.session.commit()
    return julie.id


def _waiting(responsable, firm, run_jobs, variables=WITH_NUMBER) -> str:
    answer = submit(responsable, firm, "add-relation", variables)
    assert answer.status_code == 202, answer.json
    run_jobs()
    number = answer.json["number"]
    assert state_of(number) == "agent_validation"
    return number


def _people_named_julie() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.first_name == "Julie", Contact.last_name.in_(["Levesque", "Lévesque"]))
    )


def test_a_merge_that_finds_nothing_to_change_is_applied(
    app, firm, responsable, agent, run_jobs, mailbox
):
    """The existing contact already holds all the form asks: applied, the history says the
    contact was kept and nothing changed, the email says it was applied."""
    julie = _julie(firm, member=True, subject=True)
    number = _waiting(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    answer = agent.post(
        f"/api/agent/requests/{number}/approve", json={"merge_with_contact_id": julie}
    )
    assert answer.status_code == 200, answer.json
    run_jobs()
    assert state_of(number) == "applied"
    assert _people_named_julie() == 1
    detail = responsable.get(f"/api/requests/{number}").json
    applied = next(h for h in detail["history"] if h["trigger"] == "apply")
    assert "Contact existant conservé : Julie Levesque" in applied["reason"]
    assert "rien n'a changé" in applied["reason"]
    assert detail["reason"] is None
    [notice] = mailbox.to("rebecca@laforce.example")
    assert notice["Subject"] == f"Votre demande {number} a été appliquée"
    assert "Contact existant conservé : Julie Levesque." in body(notice)
    assert "rien n'a changé" in body(notice)


def test_a_merge_that_adds_a_subject_changes_the_existing_contact(
    app, firm, responsable, agent, run_jobs, mailbox
):
    """The existing member lacks the subject: it is granted to them, no one is created, and the
    history names what changed."""
    julie = _julie(firm, member=True, subject=False)
    number = _waiting(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/agent/requests/{number}/approve", json={"merge_with_contact_id": julie})
    run_jobs()
    assert state_of(number) == "applied"
    assert _people_named_julie() == 1
    grant = db.session.scalar(select(Grant).where(Grant.holder_contact_id == julie))
    assert grant is not None and grant.subject_id == firm.subjects["rapport_mensuel"]
    history = responsable.get(f"/api/requests/{number}").json["history"]
    applied = next(h for h in history if h["trigger"] == "apply")
    assert "Donner à Julie Levesque le sujet Rapport mensuel (Écriture)" in applied["reason"]
    [notice] = mailbox.to("rebecca@laforce.example")
    assert "Donner à Julie Levesque le sujet Rapport mensuel (Écriture)" in body(notice)


def test_a_probable_candidate_requires_a_decision(app, firm, responsable, agent, run_jobs):
    """With a probable duplicate, approving without choosing is refused (nothing changes);
    choosing both is refused; choosing a new contact creates one."""
    julie = _julie(firm, member=False, subject=False)
    db.session.get(Contact, julie).email = NEW_MEMBER["email"]
    db.session.get(Contact, julie).client_number = None
    db.session.commit()
    number = _waiting(responsable, firm, run_jobs, ADD_NEW)
    agent.post(f"/api/agent/requests/{number}/claim")
    detail = agent.get(f"/api/requests/{number}").json
    assert [c["level"] for c in detail["duplicate_candidates"]] == ["probable"]
    silent = agent.post(f"/api/agent/requests/{number}/approve", json={})
    assert silent.status_code == 422
    [message] = silent.json["errors"]["merge_with_contact_id"]
    assert "Doublon probable : Julie Levesque" in message and "nouveau contact" in message
    assert state_of(number) == "agent_validation"
    both = agent.post(
        f"/api/agent/requests/{number}/approve",
        json={"merge_with_contact_id": julie, "create_new_contact": True},
    )
    assert both.status_code == 422 and "create_new_contact" in both.json["errors"]
    new = agent.post(f"/api/agent/requests/{number}/approve", json={"create_new_contact": True})
    assert new.status_code == 200, new.json
    run_jobs()
    assert state_of(number) == "applied"
    assert _people_named_julie() == 2


def test_a_client_number_already_held_cannot_make_a_second_contact(
    app, firm, responsable, agent, run_jobs
):
    """A client number names one person: creating a new contact with it is refused (422), the
    request waits for a merge or a rejection."""
    _julie(firm, member=False, subject=False)
    number = _waiting(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    answer = agent.post(f"/api/agent/requests/{number}/approve", json={"create_new_contact": True})
    assert answer.status_code == 422
    [message] = answer.json["errors"]["merge_with_contact_id"]
    assert "appartient déjà à Julie Levesque" in message
    assert state_of(number) == "agent_validation"


@pytest.mark.parametrize(
    ("merge_with", "message"),
    [
        (lambda firm: firm.marie_helene, "ne fait pas partie des doublons possibles"),
        (lambda firm: 999_999, "ne fait pas partie des doublons possibles"),
    ],
)
def test_a_merge_with_a_contact_that_is_not_a_candidate_is_refused(
    app, firm, responsable, agent, run_jobs, merge_with, message
):
    """Merging with anyone but a candidate: 422 naming the field, the request still waits."""
    _julie(firm, member=False, subject=False)
    number = _waiting(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    answer = agent.post(
        f"/api/agent/requests/{number}/approve", json={"merge_with_contact_id": merge_with(firm)}
    )
    assert answer.status_code == 422
    assert message in answer.json["errors"]["merge_with_contact_id"][0]
    assert state_of(number) == "agent_validation"


def test_a_new_person_named_as_an_active_member_is_a_possible_duplicate(
    app, firm, responsable, agent, run_jobs
):
    """Another Marie-Karine Bérard, born another day, no client number: an agent looks first."""
    other = {
        **NEW_MEMBER,
        "first_name": "Marie-Karine",
        "last_name": "Bérard",
        "birth_date": "1999-09-09",
        "email": "autre.mk@ailleurs.example",
        "phones": [],
    }
    number = _waiting(responsable, firm, run_jobs, {**ADD_NEW, "new_contact": other})
    [candidate] = agent.get(f"/api/requests/{number}").json["duplicate_candidates"]
    assert candidate["contact_id"] == firm.marie_karine
    assert candidate["level"] in ("possible", "probable")
    assert any("membre actif" in r["detail"] for r in candidate["reasons"])


def test_members_named_alike_are_found_however_written_and_only_in_the_firm(
    app, firm, responsable, agent, run_jobs
):
    """Two new people checked together, each named as an active member written otherwise
    (case, accents, hyphens): each request names its own member as a possible duplicate, not
    the other's, not a former member and not another organisation's member of the same name."""
    from tests.factories import add_member

    named = {
        "jp": add_member(firm.firm, first_name="JEAN PHILIPPE", last_name="cote", language="fr"),
        "mt": add_member(firm.firm, first_name="Maryse", last_name="Tremblay", language="fr"),
        "former": add_member(firm.firm, first_name="Maryse", last_name="Trémblay", language="fr"),
        "elsewhere": add_member(firm.shaw, first_name="Jean-Philippe", last_name="Côté"),
    }
    for _ in range(30):  # a firm of other members, read no more
        add_member(firm.firm, first_name="Autre", last_name="Membre", language="fr")
    db.session.flush()
    former = db.session.scalar(
        select(ContactRelation).where(ContactRelation.contact_id == named["former"])
    )
    former.active = False
    db.session.commit()

    numbers = []
    for first, last, born in (
        ("Jean-Philippe", "Côté", "1971-02-03"),
        ("Maryse", "Tremblay", "1982-04-05"),
    ):
        email = f"{first}.{last}@ailleurs.example".lower()
        new = {
            **NEW_MEMBER,
            "first_name": first,
            "last_name": last,
            "birth_date": born,
            "email": email,
            "phones": [],
        }
        answer = submit(responsable, firm, "add-relation", {**ADD_NEW, "new_contact": new})
        assert answer.status_code == 202, answer.json
        numbers.append(answer.json["number"])
    run_jobs()

    def members_flagged(number: str) -> set[int]:
        assert state_of(number) == "agent_validation"
        candidates = agent.get(f"/api/requests/{number}").json["duplicate_candidates"]
        return {
            c["contact_id"]
            for c in candidates
            if any("membre actif" in r["detail"] for r in c["reasons"])
        }

    assert members_flagged(numbers[0]) == {named["jp"]}
    assert members_flagged(numbers[1]) == {named["mt"]}


def _end_responsable(firm, active: bool) -> None:
    relation = db.session.scalar(
        select(ContactRelation).where(ContactRelation.contact_id == firm.rebecca)
    )
    relation.active = active
    db.session.commit()


def test_a_failed_request_stays_in_the_agents_queue_and_is_retried(
    app, firm, responsable, agent, run_jobs
):
    """An apply that cannot be carried out fails with a French reason, is listed as En erreur in
    the queue (filterable) with its reason and the retry, and applies once retried."""
    number = _waiting(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/agent/requests/{number}/approve", json={})
    _end_responsable(firm, active=False)
    run_jobs()
    assert state_of(number) == "failed"
    failed = agent.get("/api/agent/queue", query_string={"state": "failed"}).json
    [item] = failed["items"]
    assert item["number"] == number and item["state_label"] == "En erreur"
    assert item["reason"] == "Le demandeur n'a plus accès au dossier de l'organisation."
    assert item["actions"] == ["retry"]
    everything = agent.get("/api/agent/queue").json
    assert number in [i["number"] for i in everything["items"]]
    waiting = agent.get("/api/agent/queue", query_string={"state": "agent_validation"}).json
    assert number not in [i["number"] for i in waiting["items"]]
    _end_responsable(firm, active=True)
    assert agent.post(f"/api/agent/requests/{number}/retry").status_code == 200
    run_jobs()
    assert state_of(number) == "applied"


def test_agents_read_names_and_operations_in_french(app, firm, responsable, agent, run_jobs):
    """The agent's detail names the firm and says what the request will do, in sentences."""
    number = _waiting(responsable, firm, run_jobs)
    detail = agent.get(f"/api/requests/{number}").json
    assert detail["organisation"] == {
        "id": firm.firm,
        "name": "LAFORCE COMPTABLE INC",
        "client_number": "1000001",
    }
    assert detail["operations"] == [
        "Créer le contact Julie Lévesque",
        "Ajouter Julie Lévesque comme Membre du personnel de LAFORCE COMPTABLE INC (1000001)",
        "Donner à Julie Lévesque le sujet Rapport mensuel (Écriture)",
        "Envoyer les coordonnées de liaison à Julie Lévesque",
    ]


def test_history_still_names_a_removed_contact(app, firm, responsable, run_jobs):
    """A removal, read after the contact left and was renamed, names them as they were."""
    answer = submit(
        responsable,
        firm,
        "remove-relation",
        {"contact_id": firm.marie_karine, "removal": "all_relations", "attestation": True},
    )
    number = answer.json["number"]
    run_jobs()
    assert state_of(number) == "applied"
    contact = db.session.get(Contact, firm.marie_karine)
    contact.first_name = "Renommée"
    db.session.commit()
    detail = responsable.get(f"/api/requests/{number}").json
    assert detail["operations"], detail
    assert any("Marie-Karine Bérard" in sentence for sentence in detail["operations"])
    assert not any("Renommée" in sentence for sentence in detail["operations"])
    assert {"id": firm.marie_karine, "name": "Marie-Karine Bérard"} in detail["contacts"]


def test_delegation_to_an_existing_contact_asks_no_relation_type(
    app, firm, responsable, run_jobs, mailbox
):
    """*Une autre organisation*: the client's subjects are delegated to Marie-Karine through her
    relation to the firm; no relation type is asked, none is added."""
    variables = {
        "contact_id": firm.marie_karine,
        "other_organisation": True,
        "related_organisation_id": firm.shaw,
        "organisation_subjects": ["rapport_mensuel"],
        "attestation": True,
        "attestation_consent": True,
    }
    answer = submit(responsable, firm, "add-relation", variables)
    assert answer.status_code == 202, answer.json
    run_jobs()
    assert state_of(answer.json["number"]) == "applied"
    grant = db.session.scalar(select(Grant).where(Grant.holder_contact_id == firm.marie_karine))
    assert grant.owner_organisation_id == firm.shaw
    assert grant.contact_relation_id == firm.marie_karine_relation
    relations = db.session.scalar(
        select(func.count())
        .select_from(ContactRelation)
        .where(ContactRelation.contact_id == firm.marie_karine)
    )
    assert relations == 1


def test_a_new_member_still_needs_a_relation_type(app, firm, responsable):
    """Without *Une autre organisation*, the relation type is required, named in French."""
    variables = {k: v for k, v in ADD_NEW.items() if k != "relation_type"}
    answer = submit(responsable, firm, "add-relation", variables)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"variables.relation_type": ["Ce champ est obligatoire."]}


def test_nothing_to_change_is_reported_on_the_form_not_a_key(app, firm, responsable):
    """A submission that changes nothing: the form-level error is under ``variables``."""
    answer = submit(
        responsable,
        firm,
        "add-relation",
        {
            "contact_id": firm.marie_karine,
            "relation_type": "membre_personnel",
            "attestation": True,
            "attestation_consent": True,
        },
    )
    assert answer.status_code == 422, answer.json
    assert "_schema" not in str(answer.json)
    assert list(answer.json["errors"]) == ["variables"]


def test_the_applied_email_says_what_was_done(app, firm, responsable, run_jobs, mailbox):
    """The submitter's email lists the operations in French sentences."""
    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    run_jobs()
    [notice] = mailbox.to("rebecca@laforce.example")
    assert number in notice["Subject"]
    assert "Ce qui a été fait :\n- Créer le contact Julie Lévesque\n" in body(notice).replace(
        "\r\n", "\n"
    )
