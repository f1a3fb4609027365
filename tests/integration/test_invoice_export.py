"""The `invoices` export dataset: blue lines of paid orders, red-letter lines of executed refunds,
VAT as placement computed it; a scope exports only the rows it reads."""

import pytest

from app.db import utcnow, uuid7
from app.finance.invoices import share_of_tax
from app.orders.models import Refund, RefundKind, RefundLine, RefundStatus
from app.tenancy.enums import ActorKind
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.integration.test_finance_exports import export, read_csv
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


def _refund(session, order, line, amount):
    use_scope(session, system_scope(order.tenant_id))
    refund = Refund(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, kind=RefundKind.refund_only,
                    status=RefundStatus.refunded, amount_minor=amount, currency=order.currency,
                    requested_by_kind=ActorKind.system, refunded_at=utcnow(), owner_path=order.owner_path,
                    seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id)
    session.add(refund)
    session.flush()
    session.add(RefundLine(tenant_id=order.tenant_id, id=uuid7(), refund_id=refund.id, order_line_id=line.id,
                           qty=1, amount_minor=amount, owner_path=order.owner_path,
                           seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id))
    session.flush()
    return refund


def test_the_invoice_export_has_blue_lines_and_red_letter_lines_with_their_tax(session, export_dir):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=2)
    consumer = consumer_scope_of(session, add_consumer(session, net, "jingan"))
    placed = retail_order(session, consumer, catalog, 2, 1, invoice={"title": "王小明"})
    pay(session, placed.order)
    first = placed.lines[0]
    refund = _refund(session, placed.order, first, first.total_minor // 2)

    job, _ = export(session, net, "jingan", "invoices")
    rows = read_csv(export_dir, job)

    blue = [r for r in rows if r["kind"] == "blue"]
    red = [r for r in rows if r["kind"] == "red"]
    assert [(int(r["line_no"]), int(r["amount_minor"]), int(r["tax_minor"]), int(r["tax_rate_bp"]))
            for r in blue] == [(line.line_no, line.total_minor, line.tax_minor, 1_300)
                               for line in placed.lines]
    expected_tax = share_of_tax(first.tax_minor, first.total_minor, first.total_minor // 2)
    assert [(r["document_id"], int(r["amount_minor"]), int(r["tax_minor"]), int(r["net_minor"]))
            for r in red] == [(str(refund.id), -(first.total_minor // 2), -expected_tax,
                               -(first.total_minor // 2) + expected_tax)]
    assert {r["invoice_title"] for r in rows} == {"王小明"}  # the store's own order: full fidelity
    assert all(int(r["amount_minor"]) - int(r["tax_minor"]) == int(r["net_minor"]) for r in rows)

    other, _ = export(session, net, "chengdu", "invoices")
    assert read_csv(export_dir, other) == []  # a scope never exports a row it cannot read
