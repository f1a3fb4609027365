"""One error shape: every refusal is {"code", "message"} (+ "errors" for validation_error)."""

import uuid

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.tenancy import network
from app.tenancy.models import Tenant
from app.tenancy.scope import tenant_lookup_scope
from tests.factories import login, make_tenant
from tests.support.apps import closed_port_url, fresh_app
from tests.support.scope import use_scope


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "errors"}
    if code == "validation_error":
        assert isinstance(body["errors"], dict) and body["errors"]
    else:
        assert "errors" not in body
    return body


@pytest.mark.parametrize("raw", [b"{bad", b"{\"tenant\": ", b"\xff\xfe\x00", b"{'single': 'quotes'}"])
def test_a_malformed_json_body_answers_400_bad_request(client, session, raw):
    response = client.post("/auth/login", data=raw, content_type="application/json")
    body = assert_error(response, 400, "bad_request")
    assert body["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize("raw", [b"[1, 2]", b"\"a string\"", b"42", b"null"])
def test_json_that_is_not_an_object_answers_422(client, session, raw):
    response = client.post("/auth/login", data=raw, content_type="application/json")
    assert_error(response, 422, "validation_error")


def test_missing_fields_answer_422_naming_each_field(client, session):
    body = assert_error(client.post("/auth/login", json={}), 422, "validation_error")
    assert set(body["errors"]) == {"tenant", "email", "password"}
    assert body["errors"]["email"] == ["Missing data for required field."]


def test_a_body_sent_without_a_json_content_type_reads_as_missing_fields(client, session):
    response = client.post("/auth/login", data="tenant=acme", content_type="text/plain")
    assert_error(response, 422, "validation_error")


def test_wrong_types_answer_422_with_a_message_per_field(client, session):
    net = make_tenant(session)
    response = client.post("/network/orgs", headers=login(client, net, "brand"), json={
        "parent_id": "not-a-uuid", "kind": "warehouse", "name": 42})
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]) == {"parent_id", "kind", "name"}


def test_unknown_fields_answer_422_naming_them(client, session):
    response = client.post("/auth/login", json={
        "tenant": "acme", "email": "a@example.com", "password": "x", "admin": True})
    body = assert_error(response, 422, "validation_error")
    assert body["errors"] == {"admin": ["Unknown field."]}


def test_a_bad_query_parameter_answers_422_naming_it(client, session):
    net = make_tenant(session)
    brand = login(client, net, "brand")
    response = client.get("/network/consumers?limit=lots&cursor=-1", headers=brand)
    body = assert_error(response, 422, "validation_error")
    assert set(body["errors"]) == {"limit", "cursor"}
    refused = assert_error(client.get("/network/consumers?offset=50", headers=brand), 422, "validation_error")
    assert set(refused["errors"]) == {"offset"}


def test_a_body_larger_than_max_content_length_answers_413(client, session, app):
    oversize = b'{"tenant": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    response = client.post("/auth/login", data=oversize, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_an_unknown_route_answers_404_json(client, session):
    assert_error(client.get("/no/such/route"), 404, "not_found")
    assert_error(client.get(f"/network/orgs/{uuid.uuid4()}/nothing"), 404, "not_found")


def test_a_path_id_that_is_not_a_uuid_answers_404(client, session):
    assert_error(client.get("/network/orgs/123"), 404, "not_found")


def test_a_wrong_method_answers_405_json_with_allow(client, session):
    response = client.delete("/auth/login")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("headers,code", [
    ({}, "missing_credentials"),
    ({"Authorization": "Bearer nonsense"}, "invalid_token"),
    ({"X-Api-Key": "nonsense"}, "invalid_token"),
])
def test_bad_credentials_answer_401_in_the_same_shape(client, session, headers, code):
    assert_error(client.get("/network/orgs", headers=headers), 401, code)


def test_a_domain_error_answers_its_own_status_and_code(client, session):
    net = make_tenant(session)
    response = client.post("/network/orgs", headers=login(client, net, "brand"), json={
        "parent_id": str(net.org("jingan").id), "kind": "store", "name": "Below a store"})
    assert_error(response, 422, "invalid_parent")


# --- a throwaway app: unexpected exceptions and writes that must not survive an error -------

@pytest.fixture
def throwaway(app, session):
    """An app from create_app sharing the test database, with routes that fail on purpose."""
    with fresh_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]) as other:

        @other.get("/test-only/boom")
        def boom():
            raise RuntimeError("secret detail: password=hunter2")

        @other.post("/test-only/write-then/<failure>")
        def write_then(failure):
            network.create_tenant(db.session, slug=f"half-{failure}", name="Half written")
            if failure == "domain-error":
                raise DomainError("Refused after a write.", code="refused_after_write", status=409)
            if failure == "integrity-error":
                network.create_tenant(db.session, slug=f"half-{failure}", name="Same slug")
            raise RuntimeError("crashed after a write")

        yield other


def test_an_unexpected_exception_answers_500_internal_error_without_details(throwaway):
    response = throwaway.test_client().get("/test-only/boom")
    body = assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body == {"code": "internal_error", "message": "Something went wrong on our side."}


@pytest.mark.parametrize("failure,status,code", [
    ("domain-error", 409, "refused_after_write"),
    ("integrity-error", 409, "conflict"),
    ("crash", 500, "internal_error"),
])
def test_a_request_that_fails_after_writing_leaves_nothing_behind(throwaway, session, failure,
                                                                  status, code):
    response = throwaway.test_client().post(f"/test-only/write-then/{failure}")
    assert_error(response, status, code)
    use_scope(session, tenant_lookup_scope(f"half-{failure}"))
    assert session.scalar(select(Tenant).where(Tenant.slug == f"half-{failure}")) is None


# --- probes --------------------------------------------------------------------------------

def test_healthz_answers_200_without_credentials(client, session):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_answers_200_when_the_database_answers(client, session):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_readyz_answers_503_not_ready_when_the_database_is_unreachable():
    # No `session` fixture here: db.session must use this app's own (unreachable) engine.
    port = closed_port_url().rsplit(":", 1)[1]
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing?connect_timeout=2"
    with fresh_app(SQLALCHEMY_DATABASE_URI=url) as down:
        response = down.test_client().get("/readyz")
        assert_error(response, 503, "not_ready")
        assert down.test_client().get("/healthz").status_code == 200
