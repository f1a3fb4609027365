"""Invoice data at placement: VAT per line from the SKU's rate or the tenant's default (tax-inclusive),
the buyer's invoice title and tax id on B2B orders and on request for retail, refused when invalid."""

import pytest

from app.finance.errors import InvalidInvoiceRequest
from app.finance.invoices import tax_included
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import (
    RETAIL_PRICE,
    SUPPLY_PRICE,
    retail_order,
    stocked_catalog,
    supply_order,
)

COMPANY = {"title": "上海某某贸易有限公司", "tax_id": "91350100M000100Y43"}


def test_each_line_carries_its_rate_and_the_tax_inside_its_paid_total(session):
    net = make_tenant(session, settings={"finance": {"default_tax_rate_bp": 900}})
    catalog = stocked_catalog(session, net, skus=2)
    catalog.skus[0].tax_rate_bp = 600  # this SKU is taxed at 6%; the other at the tenant's 9%
    session.flush()
    consumer = consumer_scope_of(session, add_consumer(session, net, "jingan"))
    placed = retail_order(session, consumer, catalog, 3, 1)
    assert [(line.tax_rate_bp, line.tax_minor) for line in placed.lines] == [
        (600, tax_included(3 * RETAIL_PRICE, 600)), (900, tax_included(RETAIL_PRICE, 900))]
    assert placed.order.invoice_title is None and placed.order.invoice_tax_id is None


def test_without_a_tenant_setting_the_default_rate_is_13_percent(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=1)
    placed = supply_order(session, scope_of(session, net, "jingan"), catalog, 2)
    (line,) = placed.lines
    assert (line.tax_rate_bp, line.tax_minor) == (1_300, tax_included(2 * SUPPLY_PRICE, 1_300))


def test_a_b2b_order_takes_the_buyers_title_and_tax_id_and_refuses_a_title_alone(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=1)
    store = scope_of(session, net, "jingan")
    with pytest.raises(InvalidInvoiceRequest):
        supply_order(session, store, catalog, 1, invoice={"title": "静安店"})
    with pytest.raises(InvalidInvoiceRequest):
        supply_order(session, store, catalog, 1, invoice={**COMPANY, "tax_id": "91350100M000100Y44"})
    placed = supply_order(session, store, catalog, 1, invoice=COMPANY)
    assert (placed.order.invoice_title, placed.order.invoice_tax_id) == (COMPANY["title"], COMPANY["tax_id"])


def test_a_consumer_may_ask_for_a_personal_invoice_with_a_title_alone(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=1)
    consumer = consumer_scope_of(session, add_consumer(session, net, "jingan"))
    placed = retail_order(session, consumer, catalog, 1, invoice={"title": "王小明"})
    assert (placed.order.invoice_title, placed.order.invoice_tax_id) == ("王小明", None)
