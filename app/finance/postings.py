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
                        method: str, execution: str | None = None) -> JournalEntry | None:
    """Dr the seller's sales returns; Cr where the money went back from.

    Once per execution (the gateway refund): a refund that bounced and was paid again posts again.
    """
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="order_refund",
        source_key=f"order.refunded:{refund_id}" + (f":{execution}" if execution else ""),
        currency=order.currency,
        lines=[(seller_account(session, order, A.sales_returns), amount_minor),
               (settlement_account(session, order, method), -amount_minor)],
        memo="order refunded", details={"order_id": str(order.id), "refund_id": refund_id})


def post_unapplied_receipt(session: Session, *, order: Order, payment_id: uuid.UUID, amount_minor: int,
                           currency: str, reason: str, method: str = "stripe") -> JournalEntry | None:
    """Money arrived that pays no order (paid twice, after cancellation, wrong amount): we owe it back.

    Dr where it sits (gateway clearing, or the seller's bank for a transfer); Cr unapplied receipts.
    """
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="unapplied_receipt",
        source_key=f"payment.unapplied:{payment_id}", currency=currency,
        lines=[(settlement_account(session, order, method), amount_minor),
               (tenant_account(session, order.tenant_id, A.unapplied_receipts, currency), -amount_minor)],
        memo=reason, details={"order_id": str(order.id), "payment_id": str(payment_id)})


def post_unapplied_returned(session: Session, *, order: Order, payment_refund_id: uuid.UUID,
                            amount_minor: int, currency: str, method: str = "stripe") -> JournalEntry | None:
    """Dr unapplied receipts; Cr where the money left from (the gateway, or the seller's bank)."""
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="unapplied_return",
        source_key=f"payment.returned:{payment_refund_id}", currency=currency,
        lines=[(tenant_account(session, order.tenant_id, A.unapplied_receipts, currency), amount_minor),
               (settlement_account(session, order, method), -amount_minor)],
        memo="unapplied payment returned", details={"order_id": str(order.id)})


def post_unapplied_applied(session: Session, *, order: Order, receipt_id: uuid.UUID, amount_minor: int,
                           method: str) -> JournalEntry | None:
    """Dr unapplied receipts; Cr where the money sits: the order's own payment entry debits it again.

    Together with order.paid (Dr settlement, Cr revenue) the money is counted once, as revenue.
    """
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="unapplied_applied",
        source_key=f"payment.applied:{receipt_id}:{order.id}", currency=order.currency,
        lines=[(tenant_account(session, order.tenant_id, A.unapplied_receipts, order.currency), amount_minor),
               (settlement_account(session, order, method), -amount_minor)],
        memo="unapplied payment applied to an order", details={"order_id": str(order.id),
                                                                "receipt_id": str(receipt_id)})


def post_dispute(session: Session, *, order: Order, dispute_ref: str, step: str,
                 amount_minor: int) -> JournalEntry | None:
    """opened: Dr disputed funds, Cr gateway clearing (the gateway holds them); won: back; lost:
    Dr gateway clearing, Cr disputed funds, and the order's refund then takes them out of clearing."""
    held = tenant_account(session, order.tenant_id, A.disputed_funds, order.currency)
    clearing = tenant_account(session, order.tenant_id, A.gateway_clearing, order.currency)
    sign = 1 if step == "opened" else -1
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind=f"dispute_{step}",
        source_key=f"dispute.{step}:{dispute_ref}", currency=order.currency,
        lines=[(held, sign * amount_minor), (clearing, -sign * amount_minor)],
        memo=f"dispute {step}", details={"order_id": str(order.id), "dispute": dispute_ref})


def post_gateway_fee(session: Session, *, tenant_id: uuid.UUID, owner_path: str, transaction_id: str,
                     fee_minor: int, currency: str, order_id: uuid.UUID | None = None,
                     org_id: uuid.UUID | None = None) -> JournalEntry | None:
    """Dr gateway fees; Cr gateway clearing: the gateway kept part of the charge (or of a dispute).

    Owned by the selling store (owner_path) and traced to its order and org in the details.
    """
    traced = {"order_id": str(order_id), "org_id": str(org_id)} if order_id else {}
    return post_entry(
        session, tenant_id=tenant_id, owner_path=owner_path, kind="gateway_fee",
        source_key=f"fee:{transaction_id}", currency=currency,
        lines=[(tenant_account(session, tenant_id, A.gateway_fees, currency), fee_minor),
               (tenant_account(session, tenant_id, A.gateway_clearing, currency), -fee_minor)],
        memo="gateway fee", details={"balance_transaction": transaction_id, **traced})


def post_repayment(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org_id: uuid.UUID,
                   entry_id: uuid.UUID, amount_minor: int, currency: str) -> JournalEntry | None:
    """Dr the seller's cash; Cr the receivable from the buyer (and the buyer's side in its books)."""
    from app.finance.buyer_postings import post_purchase_repayment  # noqa: PLC0415  (imports this module)

    post_purchase_repayment(session, tenant_id=tenant_id, seller_id=seller.id, buyer_org_id=buyer_org_id,
                            entry_id=entry_id, amount_minor=amount_minor, currency=currency)
    return post_entry(
        session, tenant_id=tenant_id, owner_path=seller.path, kind="credit_repayment",
        source_key=f"credit.repayment:{entry_id}", currency=currency,
        lines=[(ensure_account(session, tenant_id=tenant_id, org=seller, code=A.cash, currency=currency),
                amount_minor),
               (ensure_account(session, tenant_id=tenant_id, org=seller, code=A.receivable,
                               currency=currency, counterparty_org_id=buyer_org_id), -amount_minor)],
        memo="credit repayment", details={"buyer_org_id": str(buyer_org_id)})


def _buyer_accounts(session: Session, tenant_id: uuid.UUID, seller: Org, buyer_org_id: uuid.UUID,
                    currency: str) -> tuple[LedgerAccount, LedgerAccount]:
    receivable = ensure_account(session, tenant_id=tenant_id, org=seller, code=A.receivable,
                                currency=currency, counterparty_org_id=buyer_org_id)
    deposits = ensure_account(session, tenant_id=tenant_id, org=seller, code=A.customer_deposits,
                              currency=currency, counterparty_org_id=buyer_org_id)
    return receivable, deposits


def post_deposit(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org_id: uuid.UUID,
                 source_key: str, amount_minor: int, currency: str, memo: str) -> JournalEntry | None:
    """Positive: Dr receivable, Cr customer deposits (a credit note beyond the debt). Negative: back."""
    receivable, deposits = _buyer_accounts(session, tenant_id, seller, buyer_org_id, currency)
    return post_entry(
        session, tenant_id=tenant_id, owner_path=seller.path, kind="customer_deposit",
        source_key=source_key, currency=currency,
        lines=[(receivable, amount_minor), (deposits, -amount_minor)],
        memo=memo, details={"buyer_org_id": str(buyer_org_id)})


def post_deposit_refunded(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org_id: uuid.UUID,
                          entry_id: uuid.UUID, amount_minor: int, currency: str) -> JournalEntry | None:
    """Dr customer deposits; Cr the seller's cash: the deposit went back by bank transfer."""
    _, deposits = _buyer_accounts(session, tenant_id, seller, buyer_org_id, currency)
    cash = ensure_account(session, tenant_id=tenant_id, org=seller, code=A.cash, currency=currency)
    return post_entry(
        session, tenant_id=tenant_id, owner_path=seller.path, kind="customer_deposit_refund",
        source_key=f"credit.deposit_refund:{entry_id}", currency=currency,
        lines=[(deposits, amount_minor), (cash, -amount_minor)],
        memo="customer deposit paid back", details={"buyer_org_id": str(buyer_org_id)})


def post_refund_bounced(session: Session, *, order: Order, event_id, refund_id: str, amount_minor: int,
                        method: str) -> JournalEntry | None:
    """Dr where the refund went back from, Cr sales returns: the gateway failed it after success."""
    return post_entry(
        session, tenant_id=order.tenant_id, owner_path=order.seller_path, kind="order_refund_bounced",
        source_key=f"order.refund_bounced:{event_id}", currency=order.currency,
        lines=[(settlement_account(session, order, method), amount_minor),
               (seller_account(session, order, A.sales_returns), -amount_minor)],
        memo="refund failed after it succeeded", details={"order_id": str(order.id), "refund_id": refund_id})
