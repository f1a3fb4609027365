"""What each movement of money posts; journal handlers for order events (idempotent by source key)."""

import uuid

from sqlalchemy.orm import Session

from app.finance.accounts import ensure_account
from app.finance.journal import post_entry
from app.finance.models import AccountCode, JournalEntry, LedgerAccount
from app.orders.models import Order, PaymentMethod
from app.tenancy.models import Org
from app.tenancy.orgs import brand_root, org_by_id

A = AccountCode


def settlement_account(session: Session, order: Order, method: str) -> LedgerAccount:
    """Where an order's money sits: the gateway, the seller's bank, or what the buyer owes."""
    seller = org_by_id(session, order.tenant_id, order.seller_org_id)
    if method == PaymentMethod.credit:
        return ensure_account(session, tenant_id=order.tenant_id, org=seller, code=A.receivable,
                              currency=order.currency, counterparty_org_id=order.buyer_org_id)
    if method == PaymentMethod.offline:
        return ensure_account(session, tenant_id=order.tenant_id, org=seller, code=A.cash,
                              currency=order.currency)
    return tenant_account(session, order.tenant_id, A.gateway_clearing, order.currency)


def tenant_account(session: Session, tenant_id: uuid.UUID, code: AccountCode, currency: str) -> LedgerAccount:
    return ensure_account(session, tenant_id=tenant_id, org=brand_root(session, tenant_id), code=code,
                          currency=currency)


def seller_account(session: Session, order: Order, code: AccountCode) -> LedgerAccount:
    seller = org_by_id(session, order.tenant_id, order.seller_org_id)
    return ensure_account(session, tenant_id=order.tenant_id, org=seller, code=code, currency=order.currency)


def post_order_paid(session: Session, *, order: Order, amount_minor: int, method: str) -> JournalEntry | None:
    """Dr gateway clearing | seller cash | receivable from the buyer; Cr the seller's sales revenue."""
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="order_payment",
        source_key=f"order.paid:{order.id}", currency=order.currency,
        lines=[(settlement_account(session, order, method), amount_minor),
               (seller_account(session, order, A.sales_revenue), -amount_minor)],
        memo=f"{order.flow.value} order paid by {method}", details={"order_id": str(order.id)})


def post_order_refunded(session: Session, *, order: Order, refund_id: str, amount_minor: int,
                        method: str) -> JournalEntry | None:
    """Dr the seller's sales returns; Cr where the money went back from."""
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="order_refund",
        source_key=f"order.refunded:{refund_id}", currency=order.currency,
        lines=[(seller_account(session, order, A.sales_returns), amount_minor),
               (settlement_account(session, order, method), -amount_minor)],
        memo="order refunded", details={"order_id": str(order.id), "refund_id": refund_id})


def post_unapplied_receipt(session: Session, *, order: Order, payment_id: uuid.UUID, amount_minor: int,
                           currency: str, reason: str) -> JournalEntry | None:
    """Money arrived that pays no order (paid twice, after cancellation, wrong amount): we owe it back."""
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="unapplied_receipt",
        source_key=f"payment.unapplied:{payment_id}", currency=currency,
        lines=[(tenant_account(session, order.tenant_id, A.gateway_clearing, currency), amount_minor),
               (tenant_account(session, order.tenant_id, A.unapplied_receipts, currency), -amount_minor)],
        memo=reason, details={"order_id": str(order.id), "payment_id": str(payment_id)})


def post_unapplied_returned(session: Session, *, order: Order, payment_refund_id: uuid.UUID,
                            amount_minor: int, currency: str) -> JournalEntry | None:
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="unapplied_return",
        source_key=f"payment.returned:{payment_refund_id}", currency=currency,
        lines=[(tenant_account(session, order.tenant_id, A.unapplied_receipts, currency), amount_minor),
               (tenant_account(session, order.tenant_id, A.gateway_clearing, currency), -amount_minor)],
        memo="unapplied payment returned", details={"order_id": str(order.id)})


def post_gateway_fee(session: Session, *, tenant_id: uuid.UUID, owner_path: str, transaction_id: str,
                     fee_minor: int, currency: str) -> JournalEntry | None:
    """Dr gateway fees; Cr gateway clearing: the gateway kept part of the charge."""
    return post_entry(
        session, tenant_id=tenant_id, owner_path=owner_path, kind="gateway_fee",
        source_key=f"fee:{transaction_id}", currency=currency,
        lines=[(tenant_account(session, tenant_id, A.gateway_fees, currency), fee_minor),
               (tenant_account(session, tenant_id, A.gateway_clearing, currency), -fee_minor)],
        memo="gateway fee", details={"balance_transaction": transaction_id})


def post_repayment(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org_id: uuid.UUID,
                   entry_id: uuid.UUID, amount_minor: int, currency: str) -> JournalEntry | None:
    """Dr the seller's cash; Cr the receivable from the buyer."""
    return post_entry(
        session, tenant_id=tenant_id, owner_path=seller.path, kind="credit_repayment",
        source_key=f"credit.repayment:{entry_id}", currency=currency,
        lines=[(ensure_account(session, tenant_id=tenant_id, org=seller, code=A.cash, currency=currency),
                amount_minor),
               (ensure_account(session, tenant_id=tenant_id, org=seller, code=A.receivable,
                               currency=currency, counterparty_org_id=buyer_org_id), -amount_minor)],
        memo="credit repayment", details={"buyer_org_id": str(buyer_org_id)})

