"""Dead letters and the outbox check through HTTP: who sees them, the retry, the thresholds."""

from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.platform.models import AuditEntry, OutboxEvent
from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import PASSWORD, add_user, login, make_tenant
from tests.support.scope import use_scope


def _login_user(client, net, user) -> dict:
    response = client.post("/auth/login", json={"tenant": net.slug, "email": user.email,
                                                "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _dead_event(session, net) -> OutboxEvent:
    """The tenant's org.created event, as if its audit handler had failed every attempt."""
    use_scope(session, system_scope(net.tenant.id))
    event = session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.type == "org.created",
        OutboxEvent.relayed_at.is_(None)).order_by(OutboxEvent.id)).first()
    event.attempts, event.dead_at, event.last_error = 10, utcnow(), "OperationalError: server closed"
    session.flush()
    return event


def test_brand_finance_sees_a_dead_letter_and_its_retry_relays_it_once_and_is_audited(client, session):
    net = make_tenant(session)
    finance = add_user(session, net, "brand", Role.finance)
    dead = _dead_event(session, net)
    headers = _login_user(client, net, finance)

    listed = client.get("/operations/dead-letters", headers=headers)
    assert listed.status_code == 200, listed.get_json()
    rows = listed.get_json()["items"]
    assert [(row["id"], row["type"], row["attempts"], row["last_error"]) for row in rows] == [
        (str(dead.id), "org.created", 10, "OperationalError: server closed")]

    retried = client.post(f"/operations/dead-letters/{dead.id}/retry", headers=headers)
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["dead_at"] is None and retried.get_json()["attempts"] == 0
    assert client.get("/operations/dead-letters", headers=headers).get_json()["items"] == []
    assert client.get(f"/operations/dead-letters?after={dead.id}", headers=headers).status_code == 422

    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)
    relay_pending(session, tenant_id=net.tenant.id)
    session.expire_all()
    assert session.get(OutboxEvent, (net.tenant.id, dead.id)).relayed_at is not None
    audit = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == net.tenant.id)).all()
    assert [entry.subject_id for entry in audit if entry.action == "org.created"].count(dead.subject_id) == 1
    retries = [entry for entry in audit if entry.action == "dead_letter.retried"]
    assert [(entry.subject_id, entry.actor_id) for entry in retries] == [(dead.id, finance.id)]


def test_store_owners_and_brand_viewers_may_not_see_or_retry_dead_letters(client, session):
    net = make_tenant(session)
    viewer = add_user(session, net, "brand", Role.viewer)
    dead = _dead_event(session, net)
    callers = {"outbox_operators_only": (login(client, net, "jingan"), login(client, net, "east")),
               "forbidden": (_login_user(client, net, viewer),)}  # the viewer lacks the permission
    for code, headers_of_callers in callers.items():
        for headers in headers_of_callers:
            for response in (client.get("/operations/dead-letters", headers=headers),
                             client.post(f"/operations/dead-letters/{dead.id}/retry", headers=headers)):
                assert (response.status_code, response.get_json()["code"]) == (403, code)
    assert client.get("/operations/dead-letters").status_code == 401


def test_another_tenants_dead_letter_is_not_found_and_a_live_event_cannot_be_retried(client, session):
    net, other = make_tenant(session), make_tenant(session)
    dead = _dead_event(session, net)
    response = client.post(f"/operations/dead-letters/{dead.id}/retry", headers=login(client, other, "brand"))
    assert (response.status_code, response.get_json()["code"]) == (404, "not_found")
    other_page = client.get("/operations/dead-letters", headers=login(client, other, "brand")).get_json()
    assert other_page["items"] == []

    use_scope(session, system_scope(net.tenant.id))
    live = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id,
                                                     OutboxEvent.dead_at.is_(None))).first()
    response = client.post(f"/operations/dead-letters/{live.id}/retry", headers=login(client, net, "brand"))
    assert (response.status_code, response.get_json()["code"]) == (409, "not_dead_lettered")


def test_readyz_reports_the_outbox_lag_and_the_outbox_check_fails_past_its_thresholds(client, session, app):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)
    assert client.get("/readyz/outbox").status_code == 200

    stale = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id)).first()
    age = app.config["OUTBOX_AGE_LIMIT_SECONDS"] + 60
    stale.relayed_at, stale.created_at = None, utcnow() - timedelta(seconds=age)
    session.flush()

    ready = client.get("/readyz")
    assert ready.status_code == 200  # a lagging relay does not take the API out of rotation
    outbox = ready.get_json()["outbox"]
    assert outbox["status"] == "lagging" and outbox["pending"] >= 1
    assert outbox["oldest_pending_age_seconds"] >= age
    check = client.get("/readyz/outbox")
    assert (check.status_code, check.get_json()["code"]) == (503, "outbox_lagging")
    assert "oldest pending event" in check.get_json()["message"]

    stale.relayed_at, stale.dead_at = None, utcnow()
    stale.created_at = utcnow()
    session.flush()
    check = client.get("/readyz/outbox")
    assert check.status_code == 503 and "dead-lettered" in check.get_json()["message"]


def test_dead_letters_page_oldest_first_by_cursor(client, session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    events = session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.relayed_at.is_(None))
        .order_by(OutboxEvent.id).limit(3)).all()
    assert len(events) == 3
    for event in events:
        event.attempts, event.dead_at, event.last_error = 10, utcnow(), "boom"
    session.flush()
    headers = login(client, net, "brand")
    first = client.get("/operations/dead-letters?limit=2", headers=headers).get_json()
    assert [row["id"] for row in first["items"]] == [str(e.id) for e in events[:2]] and first["has_more"]
    rest = client.get(f"/operations/dead-letters?limit=2&cursor={first['next_cursor']}",
                      headers=headers).get_json()
    assert [row["id"] for row in rest["items"]] == [str(events[2].id)] and rest["next_cursor"] is None
    assert client.get("/operations/dead-letters?offset=2", headers=headers).status_code == 422
