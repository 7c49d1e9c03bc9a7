"""The portal reads the labels of the vocabulary from the API's answers, not from its own copy."""

from __future__ import annotations

import workflows
from tests.accounts_helpers import submit_form as submit
from tests.integration.test_submission_writes import NEW_MEMBER


def test_a_linked_request_says_its_state_in_french(app, firm, responsable, run_jobs):
    """Each request linked to a request comes with the French label of its state."""
    first = submit(responsable, firm, "add-relation", NEW_MEMBER).json["number"]
    second = submit(responsable, firm, "add-relation", NEW_MEMBER).json["number"]
    run_jobs()
    detail = responsable.get(f"/api/requests/{second}").json
    (linked,) = detail["linked_requests"]
    assert linked["number"] == first
    assert linked["state_label"] == workflows.LABELS_FR[workflows.State(linked["state"])]
