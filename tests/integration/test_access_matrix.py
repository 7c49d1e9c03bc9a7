"""S7/S8: every endpoint that names a profile or a request, called by every role of another firm,
and by a member of the same firm without authority (issue 20: requests of other submitters, form
descriptions with the firm's choices).

The routes come from the app's URL map, so a new endpoint is covered without editing this file.
"""

from __future__ import annotations

import re

import pytest

from forms import registry
from tests.accounts_helpers import anonymous_client, link_account, login_client
from tests.factories import guide_firm
from tests.integration.test_request_documents import join as join_document
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER, submit
from tests.sample_files import pdf

BODIES = {
    "approve": {},
    "reject": {"reason": "x"},
    "comments": {"body": "x"},
    "requests": {"item": "add-relation", "variables": ADD_NEW},
}


def object_routes(app):
    """(method, rule) of every API route that takes a profile id or a request number."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not re.search(
            r"<(int:)?(profile_id|number)>", rule.rule
        ):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    for slug in sorted(registry.REGISTRY):
        found.append(("GET", f"/api/catalogue/items/{slug}?profile_id=<int:profile_id>"))
    return sorted(found)


def url_of(rule: str, a, number: str, document: int = 0) -> str:
    """The rule with firm A's ids: its profile, the request, one of its contacts (the new
    member's own data would be the worst leak: Marie-Karine, a plain member, is named)."""
    url = rule.replace("<int:profile_id>", str(a.firm)).replace("<number>", number)
    url = url.replace("<int:contact_id>", str(a.rebecca))
    url = url.replace("<int:document_id>", str(document))
    assert "<" not in url, f"no firm-A id for {url}: add one to url_of"
    return url


@pytest.fixture()
def world(app, run_jobs):
    """Firm A with a request waiting for an agent; firm B's people; an agent."""
    a = guide_firm(app, prefix="1", name="LAFORCE COMPTABLE INC")
    b = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    owner = login_client(app)
    link_account(app, owner.account.id, contact_id=a.rebecca, organisation_id=a.firm)
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    number = submit(owner, a, "add-relation", variables).json["number"]
    document = join_document(owner, number, pdf()).json["id"]
    run_jobs()
    member_a = login_client(app)
    link_account(app, member_a.account.id, contact_id=a.marie_karine, organisation_id=a.firm)
    responsable_b = login_client(app)
    link_account(app, responsable_b.account.id, contact_id=b.rebecca, organisation_id=b.firm)
    member_b = login_client(app)
    link_account(app, member_b.account.id, contact_id=b.marie_karine, organisation_id=b.firm)
    return {
        "a": a,
        "number": number,
        "document": document,
        "member_a": member_a,
        "clients": {
            "responsable": responsable_b,
            "member": member_b,
            "agent": login_client(app, role="agent"),
            "anonymous": anonymous_client(app),
        },
    }


def expected(role: str, rule: str) -> set[int]:
    """What a role of firm B may get on firm A's object."""
    if role == "anonymous":
        return {401}
    if "/api/agent/" in rule:
        if rule.endswith("/reassign"):
            return {403}  # supervisors only: the world's agent is not one
        return {200, 409} if role == "agent" else {403}  # 409: not a legal move in this state
    if role == "agent":
        if rule.endswith("/documents"):
            return {403}  # agents read documents; they ask for them, never join them
        if rule.startswith("/api/requests/") and not rule.endswith("/cancel"):
            return {200, 201}  # agents read and comment on every request by design
        return {403, 404}  # firm calls: refused, or no such profile for this account
    return {404}


def test_matrix_covers_every_object_endpoint(app):
    """The matrix is not empty and includes each family of routes."""
    routes = {rule for _, rule in object_routes(app)}
    assert any("/api/profiles/" in r for r in routes)
    assert any(r.startswith("/api/requests/") for r in routes)
    assert any("/api/agent/requests/" in r for r in routes)


def test_no_role_of_another_firm_reaches_a_firms_objects(app, world):
    """Every (endpoint, role) of firm B on firm A's ids gets the expected refusal: 0 leaks."""
    a, number = world["a"], world["number"]
    failures = []
    for method, rule in object_routes(app):
        url = url_of(rule, a, number, world["document"])
        last = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        for role, client in world["clients"].items():
            if role == "agent" and "/api/agent/" in rule and last in ("approve", "reject"):
                continue  # an agent deciding is the legitimate path, tested elsewhere
            answer = client.open(
                url, method=method, json=BODIES.get(last) if method != "GET" else None
            )
            allowed = expected(role, rule)
            if answer.status_code not in allowed:
                failures.append((role, method, url, answer.status_code))
            elif answer.status_code >= 400:
                text = answer.get_data(as_text=True)
                assert "LAFORCE" not in text and "Lévesque" not in text, (role, url)
    assert failures == [], "\n".join(map(str, failures))


def expected_for_member(method: str, rule: str) -> set[int]:
    """What a member of firm A without authority may get on firm A's objects."""
    if "/api/agent/" in rule:
        return {403}
    if rule.startswith("/api/requests/"):
        return {404}  # another submitter's request: as if it did not exist
    if rule.endswith("/requests"):
        return {200} if method == "GET" else {403}  # their own requests; forms need authority
    if rule.endswith("/authorized-dossiers"):
        return {200}  # their own dossiers
    return {403}  # the firm's lists, a contact's details, the forms' choices


def test_a_member_without_authority_reaches_only_their_own(app, world):
    """A plain member of the firm: another submitter's request answers 404 (read, comment,
    cancel), the firm's lists and the forms' choices 403, and no answer names the new member."""
    a, number, member = world["a"], world["number"], world["member_a"]
    failures = []
    for method, rule in object_routes(app):
        if method == "DELETE" and rule.endswith("/link"):
            continue  # the member's own link: removing it is theirs to do (test_linking)
        url = url_of(rule, a, number, world["document"])
        last = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        answer = member.open(url, method=method, json=BODIES.get(last) if method != "GET" else None)
        if answer.status_code not in expected_for_member(method, rule):
            failures.append((method, url, answer.status_code))
        text = answer.get_data(as_text=True)
        if "Lévesque" in text or "7654321" in text:
            failures.append((method, url, "leaks the new member"))
    assert failures == [], "\n".join(map(str, failures))


def test_a_members_refusal_of_a_request_reads_as_a_missing_one(app, world):
    """The 404 for another submitter's request is the 404 of a number that does not exist."""
    member = world["member_a"]
    hidden = member.get(f"/api/requests/{world['number']}")
    missing = member.get("/api/requests/DEM-2000-999999")
    assert hidden.status_code == missing.status_code == 404
    drop = ("instance", "request_id")
    assert {k: v for k, v in hidden.json.items() if k not in drop} == {
        k: v for k, v in missing.json.items() if k not in drop
    }
