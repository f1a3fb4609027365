"""The buyer's side of B2B orders: inventory and what the buyer owes its supplier, in the buyer's books.

The seller's side (revenue, receivable or money received) is in `postings`; these entries are the
mirror image in the buying org's own accounts, owned by the buyer so that its trial balance and
statement of account stand on their own:

- paid:      Dr inventory, Cr payable to the seller (goods bought);
             and unless paid on credit, Dr payable, Cr cash (paid at once);
- refunded:  Dr payable, Cr inventory (goods or money back);
             and unless the order was on credit, Dr cash, Cr payable (the money came back);
- repayment of credit: Dr payable, Cr cash.

Each is idempotent by its source key, like every posting, and posted as the system: whoever caused
it (the relay, the seller's finance recording a repayment) may not see the buyer's accounts.
"""

import uuid

from sqlalchemy.orm import Session

from app.finance.accounts import ensure_account
from app.finance.journal import post_entry
from app.finance.models import AccountCode, LedgerAccount
from app.orders.models import Order, PaymentMethod
from app.tenancy.elevation import Why, elevated
from app.tenancy.models import Org
from app.tenancy.orgs import org_by_id
from app.tenancy.scope import system_scope

A = AccountCode


def is_b2b(order: Order) -> bool:
    return order.buyer_org_id is not None


def _accounts(session: Session, tenant_id: uuid.UUID, buyer: Org, seller_id: uuid.UUID,
              currency: str) -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    """The buyer's inventory, payable to this seller, and cash (created on first use)."""

    def account(code, counterparty=None):
        return ensure_account(session, tenant_id=tenant_id, org=buyer, code=code, currency=currency,
                              counterparty_org_id=counterparty)

    return account(A.inventory), account(A.payable, seller_id), account(A.cash)


def _order_books(session: Session, order: Order) -> tuple[Org, LedgerAccount, LedgerAccount, LedgerAccount]:
    buyer = org_by_id(session, order.tenant_id, order.buyer_org_id)
    return buyer, *_accounts(session, order.tenant_id, buyer, order.seller_org_id, order.currency)


def post_purchase_paid(session: Session, *, order: Order, amount_minor: int, method: str) -> None:
    """The buyer received the goods on its books as it paid (or charged its credit)."""
    if not is_b2b(order):
        return
    with elevated(session, Why.post_journal, scope=system_scope(order.tenant_id)):
        buyer, inventory, payable, cash = _order_books(session, order)
        details = {"order_id": str(order.id), "seller_org_id": str(order.seller_org_id)}
        post_entry(session, tenant_id=order.tenant_id, owner_path=buyer.path, kind="purchase",
                   source_key=f"purchase:{order.id}", currency=order.currency,
                   lines=[(inventory, amount_minor), (payable, -amount_minor)],
                   memo=f"{order.flow.value} order bought", details=details)
        if method != PaymentMethod.credit:
            post_entry(session, tenant_id=order.tenant_id, owner_path=buyer.path, kind="purchase_payment",
                       source_key=f"purchase.paid:{order.id}", currency=order.currency,
                       lines=[(payable, amount_minor), (cash, -amount_minor)],
                       memo=f"paid by {method}", details=details)


def post_purchase_refunded(session: Session, *, order: Order, refund_id: str, amount_minor: int,
                           method: str, execution: str | None = None) -> None:
    """The seller refunded: the goods leave the buyer's inventory, the money (or the debt) comes back."""
    if not is_b2b(order):
        return
    with elevated(session, Why.post_journal, scope=system_scope(order.tenant_id)):
        buyer, inventory, payable, cash = _order_books(session, order)
        key = f"{refund_id}" + (f":{execution}" if execution else "")
        details = {"order_id": str(order.id), "refund_id": refund_id,
                   "seller_org_id": str(order.seller_org_id)}
        post_entry(session, tenant_id=order.tenant_id, owner_path=buyer.path, kind="purchase_return",
                   source_key=f"purchase.refunded:{key}", currency=order.currency,
                   lines=[(payable, amount_minor), (inventory, -amount_minor)], memo="purchase refunded",
                   details=details)
        if method != PaymentMethod.credit:
            post_entry(session, tenant_id=order.tenant_id, owner_path=buyer.path,
                       kind="purchase_refund_received", source_key=f"purchase.refund_received:{key}",
                       currency=order.currency,
                       lines=[(cash, amount_minor), (payable, -amount_minor)], memo="refund received",
                       details=details)


def post_purchase_repayment(session: Session, *, tenant_id: uuid.UUID, seller_id: uuid.UUID,
                            buyer_org_id: uuid.UUID, entry_id: uuid.UUID, amount_minor: int,
                            currency: str) -> None:
    """The buyer repaid credit: Dr payable to the seller, Cr the buyer's cash."""
    with elevated(session, Why.post_journal, scope=system_scope(tenant_id)):
        buyer = org_by_id(session, tenant_id, buyer_org_id)
        _, payable, cash = _accounts(session, tenant_id, buyer, seller_id, currency)
        post_entry(session, tenant_id=tenant_id, owner_path=buyer.path, kind="purchase_repayment",
                   source_key=f"purchase.repayment:{entry_id}", currency=currency,
                   lines=[(payable, amount_minor), (cash, -amount_minor)], memo="credit repaid",
                   details={"seller_org_id": str(seller_id), "credit_entry_id": str(entry_id)})
