"""What the submitter may still do and the states of the filter come from the API (the portal
keeps no copy of the lifecycle's rules)."""

from __future__ import annotations

import workflows
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER, submit


def test_an_undecided_request_may_be_cancelled_and_take_documents(app, firm, responsable):
    """Waiting for an agent: cancel and join a document; once cancelled, nothing more."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    number = submit(responsable, firm, "add-relation", variables).json["number"]
    assert responsable.get(f"/api/requests/{number}").json["actions"] == [
        "cancel",
        "join_document",
    ]
    assert responsable.post(f"/api/requests/{number}/cancel").status_code == 200
    assert responsable.get(f"/api/requests/{number}").json["actions"] == []


def test_an_applied_request_offers_nothing(app, firm, responsable, run_jobs):
    """Applied: neither cancel nor documents."""
    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    run_jobs()
    detail = responsable.get(f"/api/requests/{number}").json
    assert detail["state"] == "applied" and detail["actions"] == []


def test_mes_demandes_lists_every_state_in_french_in_the_lifecycle_order(app, firm, responsable):
    """The state filter's choices: each state with its French label, in the table's order."""
    page = responsable.get(f"/api/profiles/{firm.firm}/requests").json
    assert page["states"] == [
        {"value": s.value, "label": workflows.LABELS_FR[s]} for s in workflows.State
    ]
    assert page["states"][0] == {"value": "submitted", "label": "Soumise"}
