"""Seeing it in production: JSON request logs with a request id and no personal data, Prometheus
metrics behind METRICS_TOKEN (latency per route, domain events and orders placed once committed,
outbox lag, Celery task timings and failures, webhook outcomes)."""

import json
import uuid

import pytest
from prometheus_client import REGISTRY

from app.extensions import celery as celery_app
from app.platform.logs import REQUEST_ID_HEADER
from app.platform.outbox import record_event
from app.tenancy.scope import system_scope
from tests.factories import PASSWORD, add_consumer, login, make_tenant
from tests.support.payments import WEBHOOK_SECRET, signed, stripe_event
from tests.support.scope import use_scope

TOKEN = "metrics-token-for-the-test-suite-0123456789"


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


@pytest.fixture
def metrics_token(app):
    previous = app.config.get("METRICS_TOKEN")
    app.config["METRICS_TOKEN"] = TOKEN
    yield {"Authorization": f"Bearer {TOKEN}"}
    app.config["METRICS_TOKEN"] = previous


# --- request id and logs ---------------------------------------------------------------------------

def test_a_request_id_is_taken_from_the_caller_and_echoed_or_made_when_missing_or_unusable(client):
    assert client.get("/healthz", headers={REQUEST_ID_HEADER: "lb-7f3a.9c:01"}).headers[
        REQUEST_ID_HEADER] == "lb-7f3a.9c:01"
    made = client.get("/healthz").headers[REQUEST_ID_HEADER]
    assert len(made) == 32 and int(made, 16) >= 0
    for unusable in ("has space", "x" * 129, 'quote"d', "tab\there"):
        echoed = client.get("/healthz", headers={REQUEST_ID_HEADER: unusable}).headers[REQUEST_ID_HEADER]
        assert echoed != unusable and len(echoed) == 32


def test_each_request_logs_one_json_line_with_id_tenant_actor_route_status_and_latency(
        client, session, capsys):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "jingan", name="王小明", phone="13800138000")
    headers = login(client, net, "brand")
    capsys.readouterr()
    response = client.get(f"/network/consumers/{consumer.id}",
                          headers={**headers, REQUEST_ID_HEADER: "trace-42"})
    assert response.status_code == 200
    [line] = request_lines(capsys.readouterr().err)
    assert line["request_id"] == "trace-42" and line["level"] == "info"
    assert line["method"] == "GET" and line["route"] == "/network/consumers/<uuid:consumer_id>"
    assert line["status"] == 200 and line["latency_ms"] >= 0
    assert line["tenant"] == str(net.tenant.id) and line["actor_kind"] == "staff"
    assert line["actor"] == str(net.users["brand"].id)
    assert line["timestamp"].endswith("Z")


def test_no_personal_data_reaches_the_logs(client, session, capsys):
    net = make_tenant(session)
    add_consumer(session, net, "jingan", name="王小明", phone="13800138000")
    email = net.users["brand"].email
    capsys.readouterr()
    headers = login(client, net, "brand")
    client.get("/network/consumers?limit=5", headers=headers)
    client.post("/auth/login", json={"tenant": net.slug, "email": email, "password": "wrong-guess-123"})
    logged = capsys.readouterr().err
    assert len(request_lines(logged)) == 3
    for personal in (email, PASSWORD, "wrong-guess-123", "王小明", "13800138000", "limit=5"):
        assert personal not in logged


def test_a_refused_request_is_logged_with_its_status(client, capsys):
    capsys.readouterr()
    assert client.get("/network/orgs").status_code == 401
    [line] = request_lines(capsys.readouterr().err)
    assert line["status"] == 401 and line["route"] == "/network/orgs" and line["tenant"] is None


# --- the metrics endpoint ------------------------------------------------------------------------

def test_metrics_are_not_public(client, app, metrics_token):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"X-Api-Key": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401 and response.get_json()["code"] == "invalid_metrics_token"
    app.config["METRICS_TOKEN"] = None  # not configured: metrics are off, whatever is sent
    assert client.get("/metrics", headers=metrics_token).status_code == 401


def test_the_scraper_sees_latency_per_route_and_the_outbox(client, session, metrics_token):
    before = sample("tiermall_http_request_duration_seconds_count", method="GET", route="/healthz",
                    status="200")
    client.get("/healthz")
    response = client.get("/metrics", headers=metrics_token)
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert sample("tiermall_http_request_duration_seconds_count", method="GET", route="/healthz",
                  status="200") == before + 1
    assert 'tiermall_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"' in text
    for gauge in ("tiermall_database_up 1.0", "tiermall_outbox_pending ", "tiermall_outbox_dead ",
                  "tiermall_outbox_lag_seconds "):
        assert gauge in text


def test_domain_events_and_orders_placed_count_only_once_committed(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    placed = sample("tiermall_orders_placed_total", flow="retail")
    events = sample("tiermall_domain_events_total", type="order.placed")

    def place():
        record_event(session, tenant_id=net.tenant.id, owner_path=net.org("jingan").path,
                     type="order.placed", subject_id=uuid.uuid4(), payload={"flow": "retail"})

    place()
    session.rollback()
    assert sample("tiermall_orders_placed_total", flow="retail") == placed
    use_scope(session, system_scope(net.tenant.id))
    place()
    session.commit()
    assert sample("tiermall_orders_placed_total", flow="retail") == placed + 1
    assert sample("tiermall_domain_events_total", type="order.placed") == events + 1


def test_celery_tasks_are_timed_and_their_failures_counted(app):
    @celery_app.task(name="tests.observability.sometimes_fails")
    def sometimes_fails(fail: bool) -> str:
        if fail:
            raise RuntimeError("boom")
        return "ok"

    name = "tests.observability.sometimes_fails"
    succeeded = sample("tiermall_task_duration_seconds_count", task=name, state="SUCCESS")
    failed = sample("tiermall_task_failures_total", task=name)
    assert sometimes_fails.apply(args=(False,)).get() == "ok"
    sometimes_fails.apply(args=(True,), throw=False)
    assert sample("tiermall_task_duration_seconds_count", task=name, state="SUCCESS") == succeeded + 1
    assert sample("tiermall_task_failures_total", task=name) == failed + 1
    assert sample("tiermall_task_duration_seconds_count", task=name, state="FAILURE") >= 1


def test_webhook_deliveries_and_outcomes_are_counted(client, session, app):
    previous = app.config.get("STRIPE_WEBHOOK_SECRET")
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    try:
        counts = {result: sample("tiermall_webhook_deliveries_total", provider="stripe", result=result)
                  for result in ("accepted", "duplicate", "invalid_signature")}
        ignored = sample("tiermall_webhook_outcomes_total", provider="stripe", type="customer.created",
                         outcome="ignored")
        body, headers = signed(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
        forged, forged_headers = signed(stripe_event("customer.created", {"id": "cus_2"}), secret="whsec_x")
        assert client.post("/webhooks/stripe", data=forged, headers=forged_headers).status_code == 400
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = previous
    for result in counts:
        assert sample("tiermall_webhook_deliveries_total", provider="stripe",
                      result=result) == counts[result] + 1, result
    assert sample("tiermall_webhook_outcomes_total", provider="stripe", type="customer.created",
                  outcome="ignored") == ignored + 1


def test_a_task_carries_the_request_id_it_was_sent_with_and_logs_one_line_when_it_ends(app, capsys):
    import structlog  # noqa: PLC0415
    from celery import signals  # noqa: PLC0415

    @celery_app.task(name="tests.observability.traced")
    def traced() -> str:
        return structlog.contextvars.get_contextvars().get("request_id")

    headers: dict = {}
    with structlog.contextvars.bound_contextvars(request_id="trace-77"):
        signals.before_task_publish.send(sender="tests.observability.traced", headers=headers)
    assert headers == {"request_id": "trace-77"}  # published inside a request: the id travels

    capsys.readouterr()
    assert traced.apply(headers=headers).get() == "trace-77"  # the worker side binds it
    [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines()
              if text.startswith("{") and '"event": "task"' in text]
    assert line["task"] == "tests.observability.traced" and line["request_id"] == "trace-77"
    assert line["state"] == "SUCCESS" and line["latency_ms"] >= 0
    assert "request_id" not in structlog.contextvars.get_contextvars()  # unbound afterwards
