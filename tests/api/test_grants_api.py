"""Data-sharing grants through HTTP: who may change them, and what they change."""

from app.platform.models import AuditEntry
from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, add_user, login, make_tenant
from tests.support.scope import use_scope


def _grant(client, headers, grantor, grantee, dataset="consumers", fidelity="full"):
    return client.put("/network/grants", headers=headers, json={
        "grantor_org_id": str(grantor.id), "grantee_org_id": str(grantee.id),
        "dataset": dataset, "fidelity": fidelity})


def test_by_default_the_brand_sees_a_stores_consumers_masked(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu", name="刘洋", phone="13600136005")
    body = client.get(f"/network/consumers/{consumer.id}", headers=login(client, net, "brand")).get_json()
    assert body["fidelity"] == "masked"
    assert body["phone"] != "13600136005" and "0136005" not in body["phone"]
    assert body["name"] != "刘洋"


def test_a_distributor_grants_the_brand_full_view_of_its_consumers(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu", name="刘洋", phone="13600136005")
    response = _grant(client, login(client, net, "west"), net.org("west"), net.org("brand"))
    assert response.status_code == 200, response.get_json()
    body = client.get(f"/network/consumers/{consumer.id}", headers=login(client, net, "brand")).get_json()
    assert (body["fidelity"], body["phone"], body["name"]) == ("full", "13600136005", "刘洋")


def test_withholding_to_aggregate_hides_rows_but_keeps_the_totals(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu")
    add_consumer(session, net, "chengdu", phone="13600000000")
    _grant(client, login(client, net, "west"), net.org("west"), net.org("brand"), fidelity="aggregate")
    brand = login(client, net, "brand")
    assert client.get(f"/network/consumers/{consumer.id}", headers=brand).status_code == 404
    listed = {row["id"] for row in client.get("/network/consumers", headers=brand).get_json()["items"]}
    assert str(consumer.id) not in listed
    summary = client.get("/network/consumers/summary", headers=brand).get_json()
    assert {"home_store_id": str(net.org("chengdu").id), "consumers": 2} in summary


def test_a_grant_to_a_sibling_widens_its_view(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu")
    east = login(client, net, "east")
    assert client.get(f"/network/consumers/{consumer.id}", headers=east).status_code == 404
    response = _grant(client, login(client, net, "west"), net.org("west"), net.org("east"), fidelity="masked")
    assert response.status_code == 200, response.get_json()
    body = client.get(f"/network/consumers/{consumer.id}", headers=login(client, net, "east")).get_json()
    assert body["fidelity"] == "masked"


def test_only_the_grantors_owner_or_admin_may_grant(client, session):
    net = make_tenant(session)
    add_user(session, net, "west", Role.viewer, email="viewer@west.example")
    net.users["west"] = net.users["west"]  # the owner stays the default login
    brand = login(client, net, "brand")
    response = _grant(client, brand, net.org("west"), net.org("east"))
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert response.get_json()["permission"] == "grants.edit"


def test_a_grant_change_is_audited(client, session):
    net = make_tenant(session)
    response = _grant(client, login(client, net, "west"), net.org("west"), net.org("brand"))
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)
    entries = session.query(AuditEntry).filter_by(tenant_id=net.tenant.id, action="grant.changed").all()
    assert len(entries) == 1
    assert entries[0].actor_id == net.users["west"].id
    assert entries[0].details["after"] == "full" and entries[0].subject_id is not None
    assert response.get_json()["id"] == str(entries[0].subject_id)


def test_revoking_a_grant_restores_the_default(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu")
    west = login(client, net, "west")
    grant_id = _grant(client, west, net.org("west"), net.org("brand")).get_json()["id"]
    assert client.delete(f"/network/grants/{grant_id}", headers=west).status_code == 204
    body = client.get(f"/network/consumers/{consumer.id}", headers=login(client, net, "brand")).get_json()
    assert body["fidelity"] == "masked"


def test_a_grant_of_another_tenant_answers_404(client, session):
    mine, theirs = make_tenant(session), make_tenant(session)
    grant_id = _grant(client, login(client, theirs, "west"), theirs.org("west"),
                      theirs.org("brand")).get_json()["id"]
    response = client.delete(f"/network/grants/{grant_id}", headers=login(client, mine, "brand"))
    assert response.status_code == 404
