"""Finance controls and queues over HTTP: period close, corrections, a reconciliation run (eager
task), the queue counts and items; who may, and who sees what."""

from datetime import timedelta

from app.db import utcnow, uuid7
from app.finance import journal, periods
from app.finance.accounts import ensure_account
from app.finance.models import AccountCode
from app.orders.models import PaymentMethod
from app.payments.models import DisputeStatus, Payment, PaymentDispute, PaymentStatus
from app.tenancy.scope import system_scope
from tests.factories import login, make_tenant
from tests.support.payments import make_order
from tests.support.scope import use_scope

LAST_YEAR = f"{utcnow().year - 1}-06"


def test_the_brands_finance_closes_a_past_month_and_corrects_by_reversal(client, session):
    net = make_tenant(session)
    owner = login(client, net, "brand")
    closed = client.post(f"/finance/periods/{LAST_YEAR}/close", headers=owner)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["period"] == LAST_YEAR
    this_month = periods.period_of(utcnow())
    assert client.post(f"/finance/periods/{this_month}/close", headers=owner).get_json()["code"] == (
        "period_not_over")
    assert client.post("/finance/periods/2026-13/close", headers=owner).get_json()["code"] == "invalid_period"
    store = client.post(f"/finance/periods/{LAST_YEAR}/close", headers=login(client, net, "jingan"))
    assert (store.status_code, store.get_json()["code"]) == (403, "brand_finance_only")
    listed = client.get("/finance/periods", headers=owner).get_json()
    assert [p["period"] for p in listed["items"]] == [LAST_YEAR] and listed["has_more"] is False
    assert client.get("/finance/periods?page=2", headers=owner).status_code == 422

    use_scope(session, system_scope(net.tenant.id))
    jingan = net.org("jingan")
    cash, revenue = (ensure_account(session, tenant_id=net.tenant.id, org=jingan, code=code, currency="CNY")
                     for code in (AccountCode.cash, AccountCode.sales_revenue))
    entry = journal.post_entry(session, tenant_id=net.tenant.id, owner_path=jingan.path, kind="test",
                               source_key=f"api:{uuid7()}", currency="CNY", lines=[(cash, 5), (revenue, -5)])
    reversed_ = client.post(f"/finance/entries/{entry.id}/reversal", headers=owner, json={"memo": "typo"})
    assert reversed_.status_code == 201, reversed_.get_json()
    assert reversed_.get_json()["reverses_entry_id"] == str(entry.id)
    again = client.post(f"/finance/entries/{entry.id}/reversal", headers=owner, json={})
    assert again.get_json()["id"] == reversed_.get_json()["id"]  # once per entry


def test_a_reconciliation_run_is_a_task_and_its_result_is_listed(client, session):
    net = make_tenant(session)
    owner = login(client, net, "brand")
    started = client.post("/finance/reconciliation/runs", headers=owner,
                          json={"since": (utcnow() - timedelta(days=2)).isoformat()})
    assert started.status_code == 202, started.get_json()
    run_id = started.get_json()["id"]
    run = client.get(f"/finance/reconciliation/runs/{run_id}", headers=owner).get_json()
    assert run["status"] == "done" and run["differences"] == 0  # eager: the offline gateway has no payouts
    runs = client.get("/finance/reconciliation/runs", headers=owner).get_json()
    assert ([r["id"] for r in runs["items"]], runs["has_more"]) == ([run_id], False)
    differences = client.get(f"/finance/reconciliation/runs/{run_id}/differences", headers=owner).get_json()
    assert differences == {"items": [], "next_cursor": None, "has_more": False}
    assert client.get("/finance/reconciliation/runs?offset=5", headers=owner).status_code == 422
    other = make_tenant(session)
    assert client.get(f"/finance/reconciliation/runs/{run_id}",
                      headers=login(client, other, "brand")).status_code == 404
    naive = client.post("/finance/reconciliation/runs", headers=owner, json={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


def test_the_queues_count_what_waits_and_list_it_for_the_seller(client, session):
    net = make_tenant(session, settings={"finance": {"transfer_late_days": 2}})
    late = make_order(session, net, seller="shanghai", buyer="jingan", total=8_000)
    late.payment_method, late.created_at = PaymentMethod.offline, utcnow() - timedelta(days=5)
    fresh = make_order(session, net, seller="shanghai", buyer="jingan", total=1_000)
    fresh.payment_method = PaymentMethod.offline
    disputed = make_order(session, net, seller="shanghai", buyer="jingan", total=3_000)
    payment = Payment(tenant_id=net.tenant.id, id=uuid7(), order_id=disputed.id, gateway="stripe",
                      gateway_ref=f"pi_{uuid7().hex}", status=PaymentStatus.succeeded, amount_minor=3_000,
                      received_minor=3_000, refunded_minor=0, refund_reserved_minor=0, currency="CNY",
                      owner_path=disputed.owner_path, seller_path=disputed.seller_path)
    session.add(payment)
    session.flush()
    session.add(PaymentDispute(tenant_id=net.tenant.id, id=uuid7(), payment_id=payment.id,
                               order_id=disputed.id, gateway_ref=f"dp_{uuid7().hex}", amount_minor=3_000,
                               currency="CNY", status=DisputeStatus.open, owner_path=disputed.owner_path,
                               seller_path=disputed.seller_path))
    session.flush()

    seller = login(client, net, "shanghai")
    counts = {c["queue"]: c["count"] for c in client.get("/finance/queues", headers=seller).get_json()}
    assert counts == {"unapplied_receipts": 0, "failed_refunds": 0, "offline_refunds": 0,
                      "late_transfers": 1, "disputes": 1, "dead_letters": None}  # dead letters: the brand's
    late_page = client.get("/finance/queues/late-transfers", headers=seller).get_json()
    assert [o["id"] for o in late_page["items"]] == [str(late.id)] and late_page["next_cursor"] is None
    dispute_page = client.get("/finance/queues/disputes", headers=seller).get_json()
    assert [d["order_id"] for d in dispute_page["items"]] == [str(disputed.id)]
    brand = {c["queue"]: c["count"]
             for c in client.get("/finance/queues", headers=login(client, net, "brand")).get_json()}
    assert brand["dead_letters"] == 0 and brand["late_transfers"] == 1
    assert client.get("/finance/queues", headers=login(client, net, "west")).get_json()[3] == {
        "queue": "late_transfers", "count": 0, "more": False}  # a sibling sees none of it

    paid = client.post(f"/finance/queues/late-transfers/{late.id}/confirmation", headers=seller,
                       json={"reference": "ICBC-88"})
    assert paid.status_code == 200, paid.get_json()
    assert client.get("/finance/queues/late-transfers", headers=seller).get_json()["items"] == []
    assert client.get("/finance/queues/disputes?offset=1", headers=seller).status_code == 422


def test_a_purchase_order_with_an_invoice_request_is_validated_and_echoes_it(client, session):
    from tests.integration.test_orders_fixtures import stocked_catalog  # noqa: PLC0415

    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=1)
    buyer = login(client, net, "shanghai")
    lines = [{"sku_id": str(catalog.sku_ids[0]), "qty": 2}]
    refused = client.post("/portal/orders", headers={**buyer, "Idempotency-Key": "inv-1"},
                          json={"lines": lines, "invoice": {"title": "上海分销"}})
    assert (refused.status_code, refused.get_json()["code"]) == (422, "invalid_invoice_request")
    placed = client.post("/portal/orders", headers={**buyer, "Idempotency-Key": "inv-2"}, json={
        "lines": lines, "invoice": {"title": "上海分销有限公司", "tax_id": "91350100M000100Y43"}})
    assert placed.status_code == 201, placed.get_json()
    body = placed.get_json()
    assert (body["invoice_title"], body["invoice_tax_id"]) == ("上海分销有限公司", "91350100M000100Y43")
    assert body["lines"][0]["tax_rate_bp"] == 1_300 and body["lines"][0]["tax_minor"] > 0


def test_closed_periods_page_by_cursor_latest_closed_first(client, session):
    net = make_tenant(session)
    owner = login(client, net, "brand")
    months = [f"{utcnow().year - 2}-{month:02d}" for month in (1, 2, 3)]
    for month in months:
        assert client.post(f"/finance/periods/{month}/close", headers=owner).status_code == 200
    first = client.get("/finance/periods?limit=2", headers=owner).get_json()
    assert [p["period"] for p in first["items"]] == months[:0:-1] and first["has_more"] is True
    rest = client.get(f"/finance/periods?limit=2&cursor={first['next_cursor']}", headers=owner).get_json()
    assert [p["period"] for p in rest["items"]] == months[:1] and rest["has_more"] is False
