"""The network API: orgs, moves, grants, consumers, through HTTP."""

from app.platform.outbox import relay_pending
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, login, make_tenant
from tests.support.scope import use_scope


def test_a_store_owner_sees_their_store_and_the_orgs_above_it_but_no_siblings(client, session):
    net = make_tenant(session)
    headers = login(client, net, "jingan")
    names = {org["name"] for org in client.get("/network/orgs", headers=headers).get_json()["items"]}
    assert names == {net.slug.upper(), "East", "Shanghai", "Jingan"}


def test_an_org_outside_my_subtree_answers_404(client, session):
    net = make_tenant(session)
    headers = login(client, net, "east")
    response = client.get(f"/network/orgs/{net.org('chengdu').id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_another_tenants_org_answers_404(client, session):
    mine, theirs = make_tenant(session), make_tenant(session)
    headers = login(client, mine, "brand")
    response = client.get(f"/network/orgs/{theirs.org('brand').id}", headers=headers)
    assert response.status_code == 404


def test_a_distributor_creates_a_store_under_itself(client, session):
    net = make_tenant(session)
    headers = login(client, net, "west")
    response = client.post("/network/orgs", headers=headers, json={
        "parent_id": str(net.org("west").id), "kind": "store", "name": "Chongqing"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["path"].startswith(net.org("west").path)


def test_a_store_cannot_have_children(client, session):
    net = make_tenant(session)
    headers = login(client, net, "brand")
    response = client.post("/network/orgs", headers=headers, json={
        "parent_id": str(net.org("jingan").id), "kind": "store", "name": "Nope"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_parent"


def test_moving_a_store_rewrites_its_path_and_its_consumers_follow(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "hangzhou")
    headers = login(client, net, "brand")
    response = client.post(f"/network/orgs/{net.org('hangzhou').id}/move", headers=headers,
                           json={"new_parent_id": str(net.org("west").id)})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["path"] == f"{net.org('west').path}{net.org('hangzhou').id}/"
    west = login(client, net, "west")
    assert client.get(f"/network/consumers/{consumer.id}", headers=west).status_code == 200
    east = login(client, net, "east")
    assert client.get(f"/network/consumers/{consumer.id}", headers=east).status_code == 404


def test_unknown_fields_are_refused_with_field_errors(client, session):
    net = make_tenant(session)
    headers = login(client, net, "brand")
    response = client.post("/network/orgs", headers=headers, json={
        "parent_id": str(net.org("west").id), "kind": "store", "name": "X", "color": "red"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error" and "color" in body["errors"]


def test_without_a_token_the_answer_is_401(client, session):
    response = client.get("/network/orgs")
    assert response.status_code == 401
    assert response.get_json()["code"] == "missing_credentials"


def test_the_brand_changes_the_default_fidelity_and_stores_see_the_effect(client, session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "chengdu")
    brand = login(client, net, "brand")
    response = client.put("/network/policy", headers=brand, json={"defaults": {"consumers": "full"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["defaults"]["consumers"] == "full"
    body = client.get(f"/network/consumers/{consumer.id}", headers=login(client, net, "west")).get_json()
    assert body["fidelity"] == "full"


def test_a_distributor_may_not_change_the_tenant_policy(client, session):
    net = make_tenant(session)
    response = client.put("/network/policy", headers=login(client, net, "west"),
                          json={"defaults": {"consumers": "full"}})
    assert response.status_code == 403


def test_the_audit_trail_shows_my_subtree_only(client, session):
    net = make_tenant(session)
    client.post("/network/orgs", headers=login(client, net, "west"), json={
        "parent_id": str(net.org("west").id), "kind": "store", "name": "Chongqing"})
    client.post("/network/orgs", headers=login(client, net, "east"), json={
        "parent_id": str(net.org("east").id), "kind": "store", "name": "Suzhou"})
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)  # explicit: eager relays are best effort in tests
    west_actions = client.get("/network/audit", headers=login(client, net, "west")).get_json()["items"]
    names = {entry["details"].get("name") for entry in west_actions}
    assert "Chongqing" in names and "Suzhou" not in names


def test_a_deactivated_stores_staff_can_no_longer_sign_in(client, session):
    net = make_tenant(session)
    response = client.post(f"/network/orgs/{net.org('chengdu').id}/deactivate",
                           headers=login(client, net, "west"))
    assert response.status_code == 200 and response.get_json()["active"] is False
    response = client.post("/auth/login", json={
        "tenant": net.slug, "email": net.users["chengdu"].email, "password": "correct-horse-battery"})
    assert response.status_code == 401


def test_an_org_cannot_move_under_its_own_subtree(client, session):
    net = make_tenant(session)
    response = client.post(f"/network/orgs/{net.org('east').id}/move", headers=login(client, net, "brand"),
                           json={"new_parent_id": str(net.org("shanghai").id)})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_move"
