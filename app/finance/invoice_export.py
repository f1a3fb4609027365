"""The `invoices` export dataset: what the tax tool needs to issue 发票, one row per line.

- blue rows: every line of the orders paid in the period (paid total, VAT rate, VAT inside it);
- red-letter (红字) rows: every line of the refunds executed in the period, negative, with the
  line's VAT in proportion to the refunded amount (rounded half up, as `invoices.share_of_tax`).
Amounts are tax-inclusive (`net` = amount - tax). The buyer's invoice title and tax id are
personal data of a consumer: masked below full fidelity like the other order columns.
"""

from sqlalchemy import Select, and_, case, literal, select, union_all

from app.finance.exports.datasets import DATASETS, Column, ExportDataset, Window, _in_period, _under
from app.orders.models import Order, OrderLine, Refund, RefundLine, RefundStatus
from app.tenancy.enums import Dataset
from app.tenancy.filters import visible
from app.tenancy.scope import Scope


def _red_tax(line_tax, line_total, part):
    """share_of_tax in SQL: (2·tax·part + total) div (2·total), 0 on a zero total."""
    return case((line_total > 0, (2 * line_tax * part + line_total) // (2 * line_total)), else_=0)


def _invoices(scope: Scope, window: Window) -> Select:
    order_join = and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id)
    blue = (select(literal("blue").label("kind"), Order.id.label("document_id"), Order.id.label("order_id"),
                   OrderLine.line_no, Order.paid_at.label("dated_at"), Order.seller_org_id,
                   Order.buyer_org_id, Order.invoice_title, Order.invoice_tax_id, OrderLine.sku_code,
                   OrderLine.name, OrderLine.qty, Order.currency, OrderLine.total_minor.label("amount_minor"),
                   OrderLine.tax_rate_bp, OrderLine.tax_minor,
                   (OrderLine.total_minor - OrderLine.tax_minor).label("net_minor"),
                   Order.owner_path, Order.seller_path)
            .join(Order, order_join)
            .where(visible(OrderLine, scope), visible(Order, scope), Order.paid_at.is_not(None),
                   _in_period(Order.paid_at, window), _under(window, Order.owner_path, Order.seller_path)))
    tax = _red_tax(OrderLine.tax_minor, OrderLine.total_minor, RefundLine.amount_minor)
    red = (select(literal("red").label("kind"), Refund.id.label("document_id"), Order.id.label("order_id"),
                  OrderLine.line_no, Refund.refunded_at.label("dated_at"), Order.seller_org_id,
                  Order.buyer_org_id, Order.invoice_title, Order.invoice_tax_id, OrderLine.sku_code,
                  OrderLine.name, (-RefundLine.qty).label("qty"), Order.currency,
                  (-RefundLine.amount_minor).label("amount_minor"), OrderLine.tax_rate_bp,
                  (-tax).label("tax_minor"), (tax - RefundLine.amount_minor).label("net_minor"),
                  Order.owner_path, Order.seller_path)
           .join(Refund, and_(Refund.tenant_id == RefundLine.tenant_id, Refund.id == RefundLine.refund_id))
           .join(OrderLine, and_(OrderLine.tenant_id == RefundLine.tenant_id,
                                 OrderLine.id == RefundLine.order_line_id))
           .join(Order, order_join)
           .where(visible(RefundLine, scope), visible(Order, scope), Refund.status == RefundStatus.refunded,
                  _in_period(Refund.refunded_at, window),
                  _under(window, Order.owner_path, Order.seller_path)))
    rows = union_all(blue, red).subquery("invoice_rows")
    return select(*rows.c).order_by(rows.c.dated_at, rows.c.document_id, rows.c.line_no)


C = Column
INVOICES = ExportDataset("invoices", "Invoice data for the tax tool: blue lines of paid orders, red-letter "
                         "lines of executed refunds (amounts tax-inclusive)", (
    C("kind", "blue (a sale) | red (红字, a refund: negative amounts)"),
    C("document_id", "The order (blue) or the refund (red)"), C("order_id", "Order"),
    C("line_no", "Line number in the order"), C("dated_at", "Paid (blue) or refunded (red), UTC"),
    C("seller_org_id", "The selling org (the invoice's issuer)"), C("buyer_org_id", "Buying org (B2B)"),
    C("invoice_title", "The buyer's invoice title (抬头)", personal="name"),
    C("invoice_tax_id", "The buyer's tax id (纳税人识别号)", personal="text"),
    C("sku_code", "SKU code"), C("name", "Product name at order time"),
    C("qty", "Units (negative on red rows)"), C("currency", "ISO 4217 code of every amount in the row"),
    C("amount_minor", "Tax-inclusive amount paid (or refunded)", money=True),
    C("tax_rate_bp", "VAT rate in basis points (1300 = 13%)"),
    C("tax_minor", "VAT included in the amount", money=True),
    C("net_minor", "Amount without VAT", money=True),
), _invoices, Dataset.orders, paths=2)

DATASETS[INVOICES.name] = INVOICES  # the registry imports this module (exports/datasets.py)
