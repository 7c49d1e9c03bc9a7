"""S7, S9, S10: schemathesis fuzzes every operation of the app's own ``/api/openapi.json``.

The app runs in-process (WSGI). Four runs, each over every operation, with valid (positive) and
invalid (negative) data:

* firm A's user on firm A's ids: no 5xx, every answer conforms to the document;
* firm A's user on firm B's ids (profile, request number, contact): 404 (403 on the agents'
  calls) or, status and body, the answer on ids that name nothing; never a byte of B's data;
* anonymous: every call that needs a session answers 401, whatever the arguments;
* an agent: the agents' calls conform too;
* a member of firm A without authority on firm A's ids: the responsable's request answers 404,
  and no answer holds the new member it is about (issue 20).

"Conforms" is stricter than schemathesis' defaults: the status is documented for the operation
itself (the catch-all ``default`` does not count), every error is ``application/problem+json``
with the one problem shape, and every success body has a documented schema it matches.

``CATALOGUE_FUZZ_EXAMPLES`` examples per operation and mode (default 3, for ``make test``: the
file takes about half a minute per database; ``CATALOGUE_FUZZ_EXAMPLES=100`` is the long run).
A fifth run fills each form's own fields (``variables``, a free object in the document).
Generation is derandomized: a run is reproducible, and a failure shows the request and answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.accounts_helpers import anonymous_client, link_account, login_client
from tests.factories import Firm, guide_firm
from tests.integration.test_every_form import variables as valid_variables
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER

EXAMPLES = int(os.environ.get("CATALOGUE_FUZZ_EXAMPLES", "3"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "errors"}


# ---------------------------------------------------------------- the world


@dataclass
class World:
    """Two firms, one user linked to each, one request each (waiting for an agent), an agent."""

    app: Any
    a: Firm
    b: Firm
    email_a: str
    number_a: str
    number_b: str
    agent_email: str
    b_markers: tuple[str, ...]

    def __post_init__(self) -> None:
        self._clients: dict[str, FlaskClient] = {}

    def client(self, who: str) -> FlaskClient:
        """The session of ``who`` ("a": firm A's user, linked to firm A; "agent"), reused until
        a call changes something (a case may log out, change the password or unlink)."""
        if who not in self._clients:
            if who == "agent":
                self._clients[who] = login_client(self.app, email=self.agent_email, role="agent")
            elif who == "member":
                # A new plain member each time (a case may unlink the previous one).
                client = login_client(self.app)
                link_account(
                    self.app,
                    client.account.id,
                    contact_id=_new_member(self.a),
                    organisation_id=self.a.firm,
                )
                self._clients[who] = client
            else:
                client = login_client(self.app, email=self.email_a)
                link_account(
                    self.app,
                    client.account.id,
                    contact_id=self.a.rebecca,
                    organisation_id=self.a.firm,
                )
                self._clients[who] = client
        return self._clients[who]

    def ids(
        self, firm: str = "a", contact: str | None = "marie_karine", *, slug: bool = True
    ) -> dict[str, Any]:
        """The values a run fixes: ``firm``'s profile and request, a document id, the firm's
        ``contact`` (a :class:`Firm` attribute) and, with ``slug``, the add form's slug."""
        of, number = (self.a, self.number_a) if firm == "a" else (self.b, self.number_b)
        fixed: dict[str, Any] = {"profile_id": of.firm, "number": number, "document_id": 1}
        if contact:
            fixed["contact_id"] = getattr(of, contact)
        if slug:
            fixed["slug"] = "add-relation"
        return fixed

    def call(self, who: str, case: Any) -> Any:
        """Send ``case`` as ``who``; a successful change ends that session's reuse."""
        response = case.call(session=self.client(who))
        if case.method.upper() != "GET" and response.status_code < 300:
            del self._clients[who]
        return response


def _new_member(firm: Firm) -> int:
    """A new *Membre du personnel* of ``firm``, without authority; its contact id."""
    from catalogue_svc.db import db
    from tests.factories import add_member

    contact_id = add_member(firm.firm, first_name="Léa", last_name="Membre", language="fr")
    db.session.commit()
    return contact_id


def _submit(client: FlaskClient, firm: Firm, email: str, client_number: str) -> str:
    variables = {
        **ADD_NEW,
        "new_contact": {**NEW_MEMBER, "email": email, "client_number": client_number},
    }
    answer = client.post(
        f"/api/profiles/{firm.firm}/requests", json={"item": "add-relation", "variables": variables}
    )
    assert answer.status_code == 202, answer.json
    return str(answer.json["number"])


@pytest.fixture()
def world(app: Any, run_jobs: Callable[[], int]) -> World:
    """Firm A and firm B (the guide's firm twice), their users, a request each, an agent."""
    a = guide_firm(app, prefix="1", name="LAFORCE COMPTABLE INC")
    b = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    user_a = login_client(app)
    link_account(app, user_a.account.id, contact_id=a.rebecca, organisation_id=a.firm)
    user_b = login_client(app)
    link_account(app, user_b.account.id, contact_id=b.rebecca, organisation_id=b.firm)
    number_a = _submit(user_a, a, "julie.a@laforce.example", "7654321")
    number_b = _submit(user_b, b, "julie.b@autre.example", "7654322")
    run_jobs()
    agent = login_client(app, role="agent")
    markers = (
        "AUTRE FIRME INC",
        "2000001",
        "2000002",
        "2000003",
        ".2@laforce.example",
        "julie.b@autre.example",
        "7654322",
        number_b,
        user_b.account.email,
    )
    return World(app, a, b, user_a.account.email, number_a, number_b, agent.account.email, markers)


def _schema(app: Any) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                "deterministic": True,
                # The session and CSRF token are the test clients'; never generated.
                "with-security-parameters": False,
            },
            "checks": {
                # Valid data may still break a business rule (a wrong code, a used address).
                "positive_data_acceptance": {"enabled": False},
                # The two-user and anonymous runs below check authorization explicitly.
                "ignored_auth": {"enabled": False},
                "object_level_authorization": {"enabled": False},
                "use_after_free": {"enabled": False},
                "ensure_resource_availability": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


# ---------------------------------------------------------------- checks


def _documented(case: Any, status: int) -> dict[str, Any] | None:
    responses = case.operation.definition.raw.get("responses", {})
    answer = responses.get(str(status))
    if answer is not None and "$ref" in answer:
        name = answer["$ref"].rsplit("/", 1)[-1]
        answer = case.operation.schema.raw_schema["components"]["responses"][name]
    return answer  # type: ignore[no-any-return]


def _describe(case: Any, response: Any) -> str:
    """The case and the answer, short enough for a failure message."""
    sent = {
        "path": case.path_parameters,
        "query": case.query,
        "headers": dict(case.headers or {}),
        "body": getattr(case, "body", None),
    }
    text = response.content[:400].decode("utf-8", "replace")
    return f"{case.operation.label} {sent!r} -> {response.status_code} {text}"


def conforms(case: Any, response: Any) -> None:
    """Schemathesis' checks, then: the status is documented for this operation (not only by
    ``default``), errors are problem details, success bodies have a documented schema."""
    case.validate_response(response)
    status = response.status_code
    label = _describe(case, response)
    documented = _documented(case, status)
    assert documented is not None, f"{label}: status not documented"
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if status >= 400:
        assert media == PROBLEM_JSON, f"{label}: error as {media!r}"
        body = json.loads(response.content)
        assert set(body) >= PROBLEM_FIELDS, f"{label}: not problem details: {body}"
        assert body["status"] == status, f"{label}: problem status {body['status']}"
    elif status != 204:
        content = documented.get("content") or {}
        assert media in content, f"{label}: {media!r} body without a documented schema"
        assert "schema" in content[media], f"{label}: no schema for {media!r}"


def no_leak(case: Any, response: Any, markers: Iterable[str]) -> None:
    """Nothing of firm B in an answer to firm A."""
    text = response.content.decode("utf-8", "replace")
    found = [m for m in markers if m in text]
    assert not found, f"{_describe(case, response)}: firm B's data in the answer: {found}"


# Ids that name nothing: a profile, a request number and a contact that do not exist.
NOWHERE = {"profile_id": 2**31 - 2, "number": "DEM-2026-999999", "contact_id": 2**31 - 2}


def refused_as_nowhere(world: World, who: str, case: Any, response: Any) -> None:
    """``response`` to ``who`` on objects that are not theirs refuses them as it refuses objects
    that do not exist (S7: nothing tells that the object exists). A 404 (403 on the agents'
    calls) is that refusal; any other answer must be, status and body, the answer to the same
    call on :data:`NOWHERE`'s ids: a 422 about the call's own arguments (a free text's hidden
    character, ``to`` before ``from``) is the same whether the object exists or not."""
    refused = 403 if "/api/agent/" in case.operation.path else 404
    if response.status_code == refused:
        return
    twin = case.derive()
    for name in twin.path_parameters.keys() & NOWHERE.keys():
        twin.path_parameters[name] = NOWHERE[name]
    for name in twin.query.keys() & NOWHERE.keys():
        twin.query[name] = NOWHERE[name]
    nowhere = world.call(who, twin)
    label = _describe(case, response)
    assert response.status_code == nowhere.status_code, f"{label}: {nowhere.status_code} on nothing"
    assert response.status_code >= 400, label
    assert json.loads(response.content) == json.loads(nowhere.content), (
        f"{label}: on nothing {nowhere.content[:400]!r}"
    )


# ---------------------------------------------------------------- the driver


def _fixed(operation: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    where: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
    for parameter in operation.iter_parameters():
        location = parameter.location.value
        if parameter.name in values and location in where:
            where[location][parameter.name] = values[parameter.name]
    return where


def _property(
    strategy: Any, run_case: Callable[[Any, GenerationMode], None], mode: GenerationMode, n: int
) -> Callable[[], None]:
    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(strategy)
    def run(case: Any) -> None:
        run_case(case, mode)

    return run  # type: ignore[no-any-return]


def fuzz(
    schema: Any,
    run_case: Callable[[Any, GenerationMode], None],
    *,
    fixed: dict[str, Any] | None = None,
    tags: set[str] | None = None,
    examples: int = EXAMPLES,
) -> int:
    """Run ``run_case`` on ``examples`` generated cases per operation and mode; every failing
    operation is reported (Hypothesis shrinks each to its smallest case). Returns the count of
    operations."""
    failures: list[str] = []
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if tags is None or tags & set(operation.definition.raw.get("tags", ()))
    ]
    for operation in operations:
        where = _fixed(operation, fixed or {})
        for mode in MODES:
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters=where["path"] or None,
                query=where["query"] or None,
            )
            try:
                _property(strategy, run_case, mode, examples)()
            except Unsatisfiable:
                # Nothing to make invalid: no argument but the fixed ids, or none at all.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # collected, reported together below
                failures.append(f"{operation.label} [{mode.value}]\n{exc}")
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
    return len(operations)


def _needs_session(operation: Any) -> bool:
    security = operation.definition.raw.get("security")
    return bool(security) and all("sessionCookie" in item for item in security)


def _names_firm_b(operation: Any) -> bool:
    names = {p.name for p in operation.iter_parameters()}
    return bool(names & {"profile_id", "number", "contact_id"})


# ---------------------------------------------------------------- the runs


def test_fuzz_firm_a_on_its_own_objects(app: Any, world: World) -> None:
    """Every operation, valid and invalid data, as firm A on firm A's ids: no 5xx, every answer
    as documented, nothing of firm B."""
    schema = _schema(app)

    def one(case: Any, mode: GenerationMode) -> None:
        response = world.call("a", case)
        conforms(case, response)
        no_leak(case, response, world.b_markers)

    count = fuzz(schema, one, fixed=world.ids())
    assert count >= 30


def test_fuzz_firm_a_on_firm_b_objects(app: Any, world: World) -> None:
    """Every operation as firm A with firm B's profile, request number and contact: 404 (403 on
    the agents' calls), or the answer to the same call on ids that name nothing (a 422 about the
    call's own arguments); never B's data (S7)."""
    schema = _schema(app)

    def one(case: Any, mode: GenerationMode) -> None:
        response = world.call("a", case)
        conforms(case, response)
        no_leak(case, response, world.b_markers)
        if _names_firm_b(case.operation):
            refused_as_nowhere(world, "a", case, response)

    fuzz(schema, one, fixed=world.ids("b", slug=False))


def test_fuzz_member_without_authority(app: Any, world: World) -> None:
    """Every operation as a plain member of firm A on firm A's ids: the responsable's request is
    404 (403 on the agents' calls), and nothing of the new member it is about is ever answered."""
    schema = _schema(app)
    markers = ("julie.a@laforce.example", "7654321", "Lévesque")

    def one(case: Any, mode: GenerationMode) -> None:
        response = world.call("member", case)
        conforms(case, response)
        no_leak(case, response, markers)
        if "number" in {p.name for p in case.operation.iter_parameters()}:
            refused_as_nowhere(world, "member", case, response)

    fuzz(schema, one, fixed=world.ids(contact="rebecca"))


def test_fuzz_anonymous(app: Any, world: World) -> None:
    """Every operation without a session: 401 wherever one is needed, before any validation."""
    schema = _schema(app)
    client = anonymous_client(app)

    def one(case: Any, mode: GenerationMode) -> None:
        response = case.call(session=client)
        conforms(case, response)
        no_leak(case, response, world.b_markers)
        if _needs_session(case.operation):
            assert response.status_code == 401, f"anonymous: {_describe(case, response)}"

    fuzz(schema, one, fixed=world.ids())


def test_fuzz_agent(app: Any, world: World) -> None:
    """The agents' and the requests' operations as an agent (on firm A's request): no 5xx, every
    answer as documented (the other operations answer an agent as they answer anyone)."""
    schema = _schema(app)

    def one(case: Any, mode: GenerationMode) -> None:
        conforms(case, world.call("agent", case))

    count = fuzz(
        schema,
        one,
        fixed=world.ids(contact=None),
        tags={"agents", "requests"},
    )
    assert count >= 10


# ---------------------------------------------------------------- the forms' variables
#
# The document types ``variables`` as a free object (each form describes its own fields at
# /api/catalogue/items/{slug}), so schemathesis almost never names a real field. This run
# builds variables from each form's own fields, with valid, invalid and other firms' values.

REFERENCE_KINDS = {"contact", "organisation", "relation", "grant"}


def _ids_of(firm: Firm) -> dict[str, set[int]]:
    """The ids of a firm's objects, by the field type that references them."""
    from sqlalchemy import or_, select

    from catalogue_svc.db import db
    from catalogue_svc.profiles.models import ContactRelation, Grant

    organisations = {firm.firm, firm.shaw, firm.plomberie}
    relations = db.session.scalars(
        select(ContactRelation.id).where(ContactRelation.organisation_id == firm.firm)
    )
    grants = db.session.scalars(
        select(Grant.id).where(
            or_(
                Grant.owner_organisation_id.in_(organisations),
                Grant.holder_organisation_id.in_(organisations),
            )
        )
    )
    return {
        "contact": {firm.rebecca, firm.marie_karine, firm.marie_helene},
        "organisation": organisations,
        "relation": set(relations),
        "grant": set(grants),
    }


def _value(field: Any, ids: list[int]) -> Any:
    from hypothesis import strategies as st

    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.text(max_size=30),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )
    kind = field.type
    if field.fields:
        one = st.fixed_dictionaries(
            {}, optional={sub.name: _value(sub, ids) for sub in field.fields}
        )
    elif kind in REFERENCE_KINDS:
        one = st.one_of(st.sampled_from(ids), st.integers(min_value=-1, max_value=10**12))
    elif field.choices:
        one = st.sampled_from([c.value for c in field.choices])
    elif kind == "date":
        one = st.dates().map(lambda d: d.isoformat())
    elif kind in ("boolean", "attestation"):
        one = st.booleans()
    elif kind == "subjects":
        one = st.sampled_from(["rapport_mensuel", "main_oeuvre", "coordonnees", "inconnu"])
    else:
        one = st.text(max_size=60)
    if field.many or kind in ("multi_choice", "subjects", "phones"):
        one = st.lists(one, max_size=3)
    return st.one_of(one, one, junk)


def _references(fields: Iterable[Any], data: Any) -> Iterable[tuple[str, Any]]:
    """(kind, value) of every reference field in ``data``, sub-fields included."""
    if not isinstance(data, dict):
        return
    for field in fields:
        if field.name not in data:
            continue
        value = data[field.name]
        for item in value if isinstance(value, list) else [value]:
            if field.fields:
                yield from _references(field.fields, item)
            elif field.type in REFERENCE_KINDS:
                yield field.type, item


def test_fuzz_form_variables(app: Any, world: World) -> None:
    """Each form's own fields with valid, invalid and firm B's values, submitted by firm A:
    202 or 422 as documented (429 once the linking codes' limit is reached), never a 5xx;
    accepted only when no reference names one of firm B's objects (S7, S9, S10)."""
    from hypothesis import strategies as st

    from forms import registry

    schema = _schema(app)
    operation = schema["/api/profiles/{profile_id}/requests"]["POST"]
    mine, theirs = _ids_of(world.a), _ids_of(world.b)
    ids = sorted(set().union(*mine.values(), *theirs.values()))
    failures = []
    for form in registry.REGISTRY.values():
        # A valid submission with some of its fields replaced: most cases reach the changeset.
        base = valid_variables(form.slug, world.a)
        each = {field.name: _value(field, ids) for field in form.fields}
        one_field = st.sampled_from(sorted(each)).flatmap(
            lambda name, each=each: each[name].map(lambda value, name=name: {name: value})
        )
        changes = st.one_of(one_field, one_field, st.fixed_dictionaries({}, optional=each))
        variables = changes.map(lambda changed, base=base: {**base, **changed})

        def one(data: dict[str, Any], mode: GenerationMode, form: Any = form) -> None:
            case = operation.Case(
                path_parameters={"profile_id": world.a.firm},
                body={"item": form.slug, "variables": data},
                media_type="application/json",
            )
            response = world.call("a", case)
            conforms(case, response)
            no_leak(case, response, world.b_markers)
            if response.status_code == 429:
                # The limit on linking codes sent (a form that emails codes to members, run
                # hundreds of times here): the designed refusal, nothing else is a 429.
                problem = json.loads(response.content)
                assert problem["type"] == "/problems/rate-limited", _describe(case, response)
                assert problem["detail"].startswith("Trop de codes de liaison envoyés"), problem
                return
            assert response.status_code in (202, 422), _describe(case, response)
            if response.status_code == 202:
                foreign = [(k, v) for k, v in _references(form.fields, data) if v in theirs[k]]
                assert not foreign, f"accepted with firm B's ids {foreign}: {data}"

        try:
            _property(variables, one, GenerationMode.NEGATIVE, EXAMPLES * 4)()
        except Exception as exc:  # collected, reported together below
            failures.append(f"{form.slug}\n{exc}")
    assert not failures, "\n\n".join(failures)


# ---------------------------------------------------------------- what the runs found
#
# Each finding of the runs above, kept as a plain test.


@dataclass
class UserA:
    """Firm A alone, and its responsable's logged-in client (for the cheaper tests below)."""

    firm: Firm
    client: FlaskClient


@pytest.fixture()
def user_a(app: Any) -> UserA:
    """Firm A and a logged-in user linked to it."""
    firm = guide_firm(app, prefix="1", name="LAFORCE COMPTABLE INC")
    client = login_client(app)
    link_account(app, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return UserA(firm, client)


def _a_file(content: dict[str, Any]) -> bool:
    """A documented download: every type of the answer a binary string (issue 18's documents)."""
    return bool(content) and all(
        part.get("schema") == {"type": "string", "format": "binary"} for part in content.values()
    )


def test_openapi_documents_every_operation(client: FlaskClient) -> None:
    """Every API operation says who may call it, what it answers on success (with a schema) and
    documents its errors as problem details (the document used to show flask-smorest's ``Error``
    shape in application/json, and nothing at all for the profile, request and agent calls)."""
    spec = client.get("/api/openapi.json").json
    assert "Error" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= PROBLEM_FIELDS
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            label = f"{method.upper()} {path}"
            if "security" not in operation:
                missing.append(f"{label}: no security")
            answers = operation["responses"]
            success = [code for code in answers if code.startswith("2")]
            if not success:
                missing.append(f"{label}: no success answer")
            for code in success:
                content = answers[code].get("content", {})
                if code != "204" and "application/json" not in content and not _a_file(content):
                    missing.append(f"{label}: {code} without a schema")
            for code, answer in answers.items():
                if (
                    code[0] in "45"
                    and "$ref" not in answer
                    and set(answer.get("content", {})) != {PROBLEM_JSON}
                ):
                    missing.append(f"{label}: {code} not problem+json")
    assert missing == []


def test_problem_types_are_ascii_slugs_shared_with_domain_errors(user_a: UserA) -> None:
    """A parser's or router's error has the same ``type`` as the service's error of that status
    (it used to come from the French title: ``/problems/données-invalides``)."""
    client = user_a.client
    cases = [
        (client.get("/api/nulle-part"), 404, "/problems/not-found"),
        (client.put("/api/catalogue"), 405, "/problems/method-not-allowed"),
        (client.get("/api/catalogue?lang=xx"), 422, "/problems/validation-failed"),
        (
            client.post(f"/api/profiles/{user_a.firm.firm}/requests", json={"item": "x"}),
            422,
            "/problems/validation-failed",
        ),
    ]
    for answer, status, problem_type in cases:
        assert answer.status_code == status
        assert answer.mimetype == PROBLEM_JSON
        assert answer.json["type"] == problem_type


def test_a_body_that_is_not_json_is_a_documented_400(app: Any, user_a: UserA) -> None:
    """Schemathesis' first negative case (a body ``\\x00``): 400 problem details, now documented."""
    answer = user_a.client.post(
        "/api/requests/DEM-2024-000001/comments", data=b"\x00", content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.mimetype == PROBLEM_JSON
    assert answer.json["type"] == "/problems/bad-request"
    spec = app.test_client().get("/api/openapi.json").json
    assert "400" in spec["paths"]["/api/requests/{number}/comments"]["post"]["responses"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/profiles/1/contacts?page=0", None),
        ("GET", "/api/profiles/1/authorizations?contact_id=x", None),
        ("GET", "/api/profiles/1/requests?state=nope", None),
        ("GET", "/api/catalogue?lang=xx", None),
        ("GET", "/api/catalogue/items/add-relation?profile_id=x", None),
        ("POST", "/api/profiles/1/requests", {"state": "applied"}),
        ("POST", "/api/requests/DEM-2024-000001/comments", {}),
        ("GET", "/api/agent/queue?page=0", None),
        ("POST", "/api/agent/requests/DEM-2024-000001/reject", {}),
    ],
)
def test_anonymous_gets_401_before_any_argument_check(
    app: Any, method: str, url: str, body: Any
) -> None:
    """Without a session: 401, not a 422 describing the arguments (the anonymous run found the
    profile, request and agent calls validating their arguments first)."""
    answer = anonymous_client(app).open(url, method=method, json=body)
    assert answer.status_code == 401
    assert answer.json["type"] == "/problems/unauthorized"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/agent/queue?page=0", None),
        ("POST", "/api/agent/requests/DEM-2024-000001/reject", {}),
        ("POST", "/api/agent/requests/DEM-2024-000001/approve", {"merge_with_contact_id": "x"}),
    ],
)
def test_a_user_gets_403_on_the_agents_calls_before_any_argument_check(
    user_a: UserA, method: str, url: str, body: Any
) -> None:
    """A firm's user on an agent's call: 403, whatever the arguments."""
    answer = user_a.client.open(url, method=method, json=body)
    assert answer.status_code == 403


def test_every_form_description_conforms(app: Any, user_a: UserA) -> None:
    """Each form's description (with and without the profile's choices) matches the documented
    schema, recursive sub-fields included."""
    from forms import registry

    operation = _schema(app)["/api/catalogue/items/{slug}"]["GET"]
    for slug in registry.REGISTRY:
        for query in ({}, {"profile_id": user_a.firm.firm}, {"lang": "en"}):
            case = operation.Case(path_parameters={"slug": slug}, query=query)
            response = case.call(session=user_a.client)
            assert response.status_code == 200, _describe(case, response)
            conforms(case, response)


def test_another_firms_contact_as_authorization_filter_shows_nothing(
    app: Any, world: World
) -> None:
    """Firm A's authorizations filtered by one of firm B's contacts: an empty page (S7)."""
    answer = world.client("a").get(
        f"/api/profiles/{world.a.firm}/authorizations?contact_id={world.b.marie_karine}"
    )
    assert answer.status_code == 200
    assert answer.json["items"] == [] and answer.json["total"] == 0
    assert not [m for m in world.b_markers if m in answer.get_data(as_text=True)]


@pytest.mark.parametrize(
    "extra",
    [
        {"state": "applied"},
        {"organisation_id": 2},
        {"approved_by": "agent"},
        {"applied_at": "2024-01-01T00:00:00Z"},
    ],
)
def test_server_fields_in_a_submission_are_refused(user_a: UserA, extra: dict[str, Any]) -> None:
    """S9: a server-owned field in the body or in the variables is a 422 naming it, and nothing
    is recorded."""
    from sqlalchemy import func, select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request

    client = user_a.client
    url = f"/api/profiles/{user_a.firm.firm}/requests"
    before = db.session.scalar(select(func.count()).select_from(Request))
    base = valid_variables("update-organisation", user_a.firm)
    in_body = client.post(url, json={"item": "update-organisation", "variables": base, **extra})
    in_variables = client.post(
        url, json={"item": "update-organisation", "variables": {**base, **extra}}
    )
    (name,) = extra
    assert in_body.status_code == 422 and name in in_body.json["errors"]
    assert in_variables.status_code == 422 and f"variables.{name}" in in_variables.json["errors"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Request)) == before


def test_the_idempotency_key_header_is_documented_and_checked(app: Any, user_a: UserA) -> None:
    """The ``Idempotency-Key`` header is in the document (schemathesis then sends bad ones),
    and a key with a space is a 422 naming the header."""
    spec = app.test_client().get("/api/openapi.json").json
    parameters = spec["paths"]["/api/profiles/{profile_id}/requests"]["post"]["parameters"]
    assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in parameters)
    answer = user_a.client.post(
        f"/api/profiles/{user_a.firm.firm}/requests",
        json={
            "item": "update-organisation",
            "variables": valid_variables("update-organisation", user_a.firm),
        },
        headers={"Idempotency-Key": "deux mots"},
    )
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json["errors"]


@pytest.mark.parametrize("padding", ["\n", " ", "\t"])
def test_a_value_over_its_documented_length_is_refused_even_with_spaces_around(
    app: Any, padding: str
) -> None:
    """An email of 255 characters is refused although it is 254 once trimmed (the document says
    at most 254; the negative run found it accepted with 202)."""
    email = padding + "a" * 241 + "@exemple.test"
    assert len(email) == 255
    answer = anonymous_client(app).post("/api/accounts/verify/resend", json={"email": email})
    assert answer.status_code == 422
    assert "email" in answer.json["errors"]
