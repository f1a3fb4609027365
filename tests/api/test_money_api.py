"""Money over HTTP: strict numbers (422, never truncated), idempotent repayments, deposits, receipts."""

import pytest

from app.orders.models import OrderStatus
from tests.factories import login, make_tenant
from tests.support.payments import make_order


@pytest.fixture
def credit_account(client, session):
    net = make_tenant(session)
    seller = login(client, net, "shanghai")
    account = client.put("/payments/credit-accounts", headers=seller,
                         json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 50_000}).get_json()
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=20_000)
    assert client.post(f"/payments/orders/{order.id}/credit",
                       headers=login(client, net, "jingan")).status_code == 201
    return net, seller, account["id"], order


@pytest.mark.parametrize("amount", [1.5, 500.9, 2.0, "700", True, 10**20, -5])
def test_a_repayment_of_a_fraction_a_string_or_an_overflow_is_refused_422_not_truncated(
        client, credit_account, amount):
    _, seller, account_id, _ = credit_account
    response = client.post(f"/payments/credit-accounts/{account_id}/repayments", headers=seller,
                           json={"amount_minor": amount, "reference": "ICBC 1"})
    assert response.status_code == 422, response.get_json()
    assert "amount_minor" in str(response.get_json())
    assert client.get("/payments/credit-accounts", headers=seller).get_json()[0]["total_minor"] == 20_000


def test_a_nul_byte_in_a_reference_is_a_422(client, credit_account):
    _, seller, account_id, _ = credit_account
    response = client.post(f"/payments/credit-accounts/{account_id}/repayments", headers=seller,
                           json={"amount_minor": 100, "reference": "ICBC\x00 1"})
    assert response.status_code == 422


def test_a_fractional_quantity_in_a_refund_request_is_a_422(client, session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=1_000, status=OrderStatus.paid)
    response = client.post(f"/portal/orders/{order.id}/refunds", headers=login(client, net, "jingan"),
                           json={"kind": "refund_only", "lines": [{"line_id": str(order.id), "qty": 1.5}]})
    assert response.status_code == 422 and "qty" in str(response.get_json())


def test_the_same_transfer_posted_again_answers_the_first_entry_or_409(client, credit_account):
    _, seller, account_id, _ = credit_account
    url = f"/payments/credit-accounts/{account_id}/repayments"
    body = {"amount_minor": 5_000, "reference": "ICBC 2026-12-01 #7"}
    first = client.post(url, headers={**seller, "Idempotency-Key": "repay-7"}, json=body)
    again = client.post(url, headers={**seller, "Idempotency-Key": "repay-7"}, json=body)
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    for _ in range(5):
        duplicate = client.post(url, headers=seller, json=body)
        assert duplicate.status_code == 409 and duplicate.get_json()["code"] == "duplicate_repayment"
    (aged,) = client.get("/payments/credit-accounts", headers=seller).get_json()
    assert aged["total_minor"] == 15_000


def test_a_deposit_is_shown_on_the_account_and_paid_back_by_finance(client, session, credit_account):
    from app.payments import refunds
    from tests.support.payments import approve_refund

    net, seller, account_id, order = credit_account
    client.post(f"/payments/credit-accounts/{account_id}/repayments", headers=seller,
                json={"amount_minor": 20_000, "reference": "ICBC all"})
    refund = approve_refund(session, order, 6_000)
    refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id)
    session.commit()
    (aged,) = client.get("/payments/credit-accounts", headers=seller).get_json()
    assert aged["account"]["deposit_minor"] == 6_000 and aged["total_minor"] == 0
    back = client.post(f"/payments/credit-accounts/{account_id}/deposit-refunds", headers=seller,
                       json={"amount_minor": 6_000, "reference": "ICBC back"})
    assert back.status_code == 201 and back.get_json()["kind"] == "deposit_refund"
    too_much = client.post(f"/payments/credit-accounts/{account_id}/deposit-refunds", headers=seller,
                           json={"amount_minor": 1, "reference": "ICBC back 2"})
    assert too_much.status_code == 422 and too_much.get_json()["code"] == "insufficient_deposit"


def test_finance_lists_a_late_transfer_and_returns_it_over_http(client, session):
    net = make_tenant(session)
    seller = login(client, net, "shanghai")
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=4_200,
                       status=OrderStatus.cancelled)
    late = client.post(f"/payments/orders/{order.id}/offline-confirmation", headers=seller,
                       json={"reference": "ICBC late"})
    assert late.status_code == 200, late.get_json()
    (receipt,) = client.get("/payments/unapplied-receipts", headers=seller).get_json()["items"]
    assert (receipt["reason"], receipt["open_minor"]) == ("order_cancelled", 4_200)
    elsewhere = login(client, net, "chengdu")
    assert client.get("/payments/unapplied-receipts", headers=elsewhere).get_json()["items"] == []
    returned = client.post(f"/payments/unapplied-receipts/{receipt['id']}/return", headers=seller,
                           json={"reference": "ICBC back"})
    assert returned.status_code == 200 and returned.get_json()["open_minor"] == 0
    assert client.get("/payments/unapplied-receipts", headers=seller).get_json()["items"] == []
    everything = client.get("/payments/unapplied-receipts?open_only=false",
                            headers=seller).get_json()["items"]
    assert [r["returned_minor"] for r in everything] == [4_200]
