"""Statements over HTTP: who sees which, who approves and pays, withdrawals, error codes."""

from flask import current_app
from sqlalchemy import select

from app.auth.tokens import issue_access_token
from app.distribution.settlement_models import Statement
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, add_user, make_tenant
from tests.support.scope import use_scope
from tests.support.settlement import NOW, consumer_payee, entry, org_payee


def staff_headers(session, net, org_key, role=Role.owner) -> dict:
    user = add_user(session, net, org_key, role)
    org = net.org(org_key)
    token = issue_access_token(current_app.config["SECRET_KEY"], ttl_seconds=300, tenant_id=net.tenant.id,
                               subject=user.id, kind="staff", org_id=org.id, role=role.value)
    return {"Authorization": f"Bearer {token}"}


def consumer_headers(net, consumer) -> dict:
    token = issue_access_token(current_app.config["SECRET_KEY"], ttl_seconds=300, tenant_id=net.tenant.id,
                               subject=consumer.id, kind="consumer")
    return {"Authorization": f"Bearer {token}"}


def settled_world(session):
    """Statements for the jingan store, the east distributor and a consumer-promoter (week of 11-23)."""
    from app.distribution.statements import run_settlement

    net = make_tenant(session)
    promoter = add_consumer(session, net, "jingan")
    for payee, amount in ((org_payee(net, "jingan"), 50_000), (org_payee(net, "east"), 20_000),
                          (consumer_payee(promoter), 30_000)):
        entry(session, net, payee, amount)
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    use_scope(session, system_scope(net.tenant.id))
    by_payee = {s.beneficiary_id: s.id for s in session.scalars(
        select(Statement).where(Statement.tenant_id == net.tenant.id))}
    return net, promoter, by_payee


def test_the_brands_finance_lists_approves_and_pays_a_statement_offline(client, session):
    net, _, statements = settled_world(session)
    finance = staff_headers(session, net, "brand", Role.finance)
    listed = client.get("/distribution/statements", headers=finance)
    assert listed.status_code == 200 and len(listed.get_json()["items"]) == 3
    first = client.get("/distribution/statements?limit=2", headers=finance).get_json()
    assert len(first["items"]) == 2 and first["has_more"] is True
    rest = client.get(f"/distribution/statements?limit=2&cursor={first['next_cursor']}",
                      headers=finance).get_json()
    assert len(rest["items"]) == 1 and rest["has_more"] is False and rest["next_cursor"] is None
    assert {s["id"] for s in first["items"] + rest["items"]} == {s["id"] for s in listed.get_json()["items"]}
    assert client.get("/distribution/statements?offset=2", headers=finance).status_code == 422
    assert client.get("/distribution/statements?cursor=made-up", headers=finance).status_code == 422
    jingan = statements[net.org("jingan").id]
    approved = client.post(f"/distribution/statements/{jingan}/approve", headers=finance)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    again = client.post(f"/distribution/statements/{jingan}/approve", headers=finance)
    assert again.status_code == 409 and again.get_json()["code"] == "statement_not_in_state"
    paid = client.post(f"/distribution/statements/{jingan}/pay-offline", headers=finance,
                       json={"bank_reference": "BOC-2026-1201-001"})
    assert paid.status_code == 200 and paid.get_json()["status"] == "sent"
    replay = client.post(f"/distribution/statements/{jingan}/pay-offline", headers=finance,
                         json={"bank_reference": "BOC-2026-1201-001"})
    assert replay.get_json()["id"] == paid.get_json()["id"]
    shown = client.get(f"/distribution/statements/{jingan}", headers=finance).get_json()
    assert shown["status"] == "paid"
    assert [p["bank_reference"] for p in shown["payouts"]] == ["BOC-2026-1201-001"]
    returned = client.post(f"/distribution/statements/{jingan}/bank-return", headers=finance)
    assert returned.status_code == 200 and returned.get_json()["status"] == "reopened"
    twice = client.post(f"/distribution/statements/{jingan}/bank-return", headers=finance)
    assert twice.status_code == 409
    assert client.post(f"/distribution/statements/{jingan}/approve", headers=finance).status_code == 200
    repaid = client.post(f"/distribution/statements/{jingan}/pay-offline", headers=finance,
                         json={"bank_reference": "BOC-2026-1203-002"})
    assert repaid.status_code == 200 and repaid.get_json()["attempt"] == 2


def test_a_gateway_payout_needs_a_connected_account(client, session):
    net, _, statements = settled_world(session)
    finance = staff_headers(session, net, "brand", Role.finance)
    east = statements[net.org("east").id]
    client.post(f"/distribution/statements/{east}/approve", headers=finance)
    response = client.post(f"/distribution/statements/{east}/pay", headers=finance)
    assert response.status_code == 409 and response.get_json()["code"] == "no_payout_account"


def test_a_store_cannot_approve_what_it_is_owed(client, session):
    net, _, statements = settled_world(session)
    store = staff_headers(session, net, "jingan")
    response = client.post(f"/distribution/statements/{statements[net.org('jingan').id]}/approve",
                           headers=store)
    assert response.status_code == 403 and response.get_json()["permission"] == "statements.approve"


def test_an_org_sees_its_own_statement_and_a_sibling_gets_a_404(client, session):
    net, _, statements = settled_world(session)
    east, west = staff_headers(session, net, "east"), staff_headers(session, net, "west")
    own = statements[net.org("east").id]
    listed = client.get("/distribution/statements", headers=east).get_json()["items"]
    assert [s["id"] for s in listed] == [str(own)]
    assert client.get(f"/distribution/statements/{own}", headers=east).status_code == 200
    assert client.get(f"/distribution/statements/{own}", headers=west).status_code == 404
    assert client.get("/distribution/statements", headers=west).get_json()["items"] == []


def test_a_promoter_sees_only_their_own_statement_and_withdraws_what_became_available(client, session):
    net, promoter, statements = settled_world(session)
    headers = consumer_headers(net, promoter)
    mine = client.get("/distribution/statements", headers=headers).get_json()
    assert [s["id"] for s in mine["items"]] == [str(statements[promoter.id])]
    assert client.get(f"/distribution/statements/{statements[net.org('east').id]}",
                      headers=headers).status_code == 404
    nothing = client.post("/distribution/withdrawals", headers=headers)
    assert nothing.status_code == 409 and nothing.get_json()["code"] == "withdrawal_below_minimum"
    entry(session, net, consumer_payee(promoter), 25_000, available_at=NOW)
    withdrawn = client.post("/distribution/withdrawals", headers=headers)
    assert withdrawn.status_code == 201, withdrawn.get_json()
    body = withdrawn.get_json()
    assert body["kind"] == "withdrawal" and body["status"] == "pending_approval"
    assert body["fee_minor"] == -250 and body["gross_minor"] == 24_750  # 1% (floor 100)
    assert body["net_minor"] == body["gross_minor"] - body["withholding_minor"]


def test_only_the_brand_runs_a_settlement(client, session):
    net, _, _ = settled_world(session)
    assert client.post("/distribution/settlement-runs",
                       headers=staff_headers(session, net, "east")).status_code == 403
    response = client.post("/distribution/settlement-runs", headers=staff_headers(session, net, "brand"))
    assert response.status_code == 201 and response.get_json()["statements"] == 0
