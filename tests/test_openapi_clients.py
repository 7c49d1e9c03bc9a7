"""The OpenAPI document is fit for client generators: operation ids, Retry-After on 429s,
request body examples, the package's version, problem type pages, Accept-Language."""

from __future__ import annotations

from importlib.metadata import version

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(client):
    document = client.get("/api/openapi.json").json
    return document, [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_unique_operation_id(client):
    """Each operation has an operationId, none shared."""
    _, operations = _operations(client)
    ids = [operation.get("operationId") for _, _, operation in operations]
    assert all(ids), [(p, m) for p, m, o in operations if "operationId" not in o]
    assert len(ids) == len(set(ids))


def test_every_429_declares_retry_after(client):
    """Every documented 429 answer declares its Retry-After header, as an integer."""
    _, operations = _operations(client)
    limited = [o["responses"]["429"] for _, _, o in operations if "429" in o["responses"]]
    assert limited
    for response in limited:
        assert response["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_every_request_body_has_an_example(client):
    """Each request body's media type carries an example object."""
    _, operations = _operations(client)
    bodies = [(p, m, o["requestBody"]) for p, m, o in operations if "requestBody" in o]
    assert bodies
    for path, method, body in bodies:
        for media in body["content"].values():
            assert media.get("example") is not None or media.get("examples"), (path, method)
    session = next(b for p, m, b in bodies if p == "/api/session" and m == "post")
    assert "@" in session["content"]["application/json"]["example"]["email"]


def test_info_version_is_the_package_version(client):
    """info.version is the installed package's version, not a constant."""
    document, _ = _operations(client)
    assert document["info"]["version"] == version("catalogue_svc")


def test_problem_type_urls_answer_with_a_page(client):
    """The type of a problem answer leads to a French page about it; an unknown type is a 404."""
    problem = client.get("/api/no-such-thing")
    assert problem.status_code == 404
    page = client.get(problem.json["type"])
    assert page.status_code == 200 and "text/html" in page.content_type
    assert "Ressource introuvable" in page.get_data(as_text=True)
    for slug in ("rate-limited", "invalid-code", "validation-failed", "wrong-password"):
        assert client.get(f"/problems/{slug}").status_code == 200, slug
    assert client.get("/problems/nothing-like-this").status_code == 404


def test_accept_language_is_honoured_like_lang(app):
    """Accept-Language: en gives the same catalogue as ?lang=en; ?lang= still wins."""
    from tests.accounts_helpers import login_client

    client = login_client(app)
    by_query = client.get("/api/catalogue?lang=en").json
    by_header = client.get("/api/catalogue", headers={"Accept-Language": "en-CA,en;q=0.9"}).json
    assert by_header == by_query
    assert "catalogues" in by_query
    french = client.get("/api/catalogue?lang=fr", headers={"Accept-Language": "en"}).json
    assert french == client.get("/api/catalogue").json
    assert french != by_query


def test_first_readers_at_once_all_get_the_whole_document(app):
    """The document is written when first read: readers arriving together (gunicorn's threads
    after a start) each get the whole of it, every view and the session's security schemes."""
    from concurrent.futures import ThreadPoolExecutor

    def read(_: int) -> bytes:
        return app.test_client().get("/api/openapi.json").get_data()

    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(read, range(8)))
    assert len(set(bodies)) == 1
    document = app.test_client().get("/api/openapi.json").json
    assert {"/api/session", "/api/profiles/{profile_id}/requests", "/api/agent/queue"} <= set(
        document["paths"]
    )
    assert {"sessionCookie", "csrfToken"} <= set(document["components"]["securitySchemes"])
