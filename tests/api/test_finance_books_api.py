"""The books over HTTP: filters that work (unknown ones are 422), trial balance, statements of account."""

from datetime import UTC, datetime, timedelta

from tests.factories import login, make_tenant
from tests.support.payments import make_order


def _credit_purchase(client, session, total=4_000):
    net = make_tenant(session)
    seller = login(client, net, "shanghai")
    client.put("/payments/credit-accounts", headers=seller,
               json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=total)
    paid = client.post(f"/payments/orders/{order.id}/credit", headers=login(client, net, "jingan"))
    assert paid.status_code == 201, paid.get_json()
    return net, seller, order


def test_unknown_or_malformed_filters_are_refused_with_422(client, session):
    net, seller, _ = _credit_purchase(client, session)
    for query in ("?date=2026-01-01", "?from=yesterday", "?order_id=12", "?offset=1.5", "?account=x"):
        response = client.get("/finance/entries" + query, headers=seller)
        assert response.status_code == 422, query
    assert client.get("/finance/accounts?org=1", headers=seller).status_code == 422
    assert client.get("/finance/trial-balance?as_of=now", headers=seller).status_code == 422


def test_entries_filter_by_order_org_and_period(client, session):
    net, seller, order = _credit_purchase(client, session)
    kinds = lambda query: sorted(e["kind"] for e in client.get(  # noqa: E731
        "/finance/entries" + query, headers=seller).get_json()["items"])
    assert kinds(f"?order_id={order.id}") == ["order_payment", "purchase"]
    assert kinds(f"?org_id={net.org('jingan').id}") == ["purchase"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert kinds(f"?from={future}") == []
    assert kinds(f"?to={future}&kind=purchase") == ["purchase"]


def test_trial_balance_and_statement_of_account(client, session):
    net, seller, _ = _credit_purchase(client, session, total=4_000)
    whole = client.get("/finance/trial-balance", headers=seller).get_json()
    assert whole["totals"] == [{"currency": "CNY", "debit_minor": 8_000, "credit_minor": 8_000,
                                "difference_minor": 0}]
    buyer = client.get(f"/finance/trial-balance?org_id={net.org('jingan').id}",
                       headers=login(client, net, "jingan")).get_json()
    assert {a["account_code"]: a["balance_minor"] for a in buyer["accounts"]} == {"inventory": 4_000,
                                                                                  "payable": 4_000}
    start = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    end = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    statement = client.get(f"/finance/statements/{net.org('jingan').id}?from={start}&to={end}",
                           headers=seller)
    assert statement.status_code == 200, statement.get_json()
    (supplier,) = statement.get_json()["suppliers"]
    assert (supplier["purchases_minor"], supplier["closing_minor"], supplier["credit_used_minor"]) == (
        4_000, 4_000, 4_000)
    elsewhere = client.get(f"/finance/statements/{net.org('chengdu').id}?from={start}&to={end}",
                           headers=seller)
    assert elsewhere.status_code == 404
