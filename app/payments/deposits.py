"""Customer deposits (预存款) on a credit account: what the seller holds for a buyer org.

A credit note larger than what the buyer still owes (the order was already repaid) leaves the
buyer's money with the seller: it becomes a deposit, journaled from the receivable to the
seller's customer-deposit liability. The next order paid on account uses it first; finance may
instead pay it back by bank transfer (recorded with its bank reference). Every change is an
entry on the account and a journal entry; the balance moves only by SQL increments.
"""

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import uuid7
from app.finance import postings
from app.orders.models import Order
from app.payments.errors import DuplicateRepayment, InsufficientDeposit
from app.payments.models import CreditAccount, CreditEntry, CreditEntryKind
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import get_visible
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope


def _seller(session: Session, account: CreditAccount) -> Org:
    return session.get(Org, (account.tenant_id, account.seller_org_id))


def _entry(session: Session, account: CreditAccount, kind: CreditEntryKind, amount_minor: int, *,
           order_id: uuid.UUID | None = None, reference: str | None = None,
           actor_id: uuid.UUID | None = None) -> CreditEntry:
    entry = CreditEntry(tenant_id=account.tenant_id, id=uuid7(), account_id=account.id, kind=kind,
                        order_id=order_id, amount_minor=amount_minor, outstanding_minor=0,
                        reference=reference, owner_path=account.owner_path, recorded_by_id=actor_id)
    session.add(entry)
    session.flush()
    return entry


def add_deposit(session: Session, *, account: CreditAccount, order_id: uuid.UUID, refund_id: uuid.UUID,
                amount_minor: int) -> CreditEntry:
    """The caller has raised deposit_minor under the account lock; record and journal it."""
    entry = _entry(session, account, CreditEntryKind.deposit, amount_minor, order_id=order_id,
                   reference=f"refund {refund_id}")
    postings.post_deposit(session, tenant_id=account.tenant_id, seller=_seller(session, account),
                          buyer_org_id=account.buyer_org_id, source_key=f"credit.deposit:{refund_id}",
                          amount_minor=amount_minor, currency=account.currency,
                          memo="refund beyond what was owed: customer deposit")
    return entry


def apply_deposit(session: Session, *, account: CreditAccount, order: Order, amount_minor: int,
                  actor_id: uuid.UUID | None) -> CreditEntry:
    """The caller has lowered deposit_minor under the account lock; the order's receivable goes down."""
    entry = _entry(session, account, CreditEntryKind.deposit_applied, amount_minor, order_id=order.id,
                   actor_id=actor_id)
    postings.post_deposit(session, tenant_id=account.tenant_id, seller=_seller(session, account),
                          buyer_org_id=account.buyer_org_id, source_key=f"credit.deposit_applied:{entry.id}",
                          amount_minor=-amount_minor, currency=account.currency,
                          memo="customer deposit paid an order")
    return entry


def refund_deposit(session: Session, scope: Scope, *, account_id: uuid.UUID, amount_minor: int,
                   reference: str) -> CreditEntry:
    """The seller's finance paid (part of) the deposit back by bank transfer: record it once per reference."""
    from app.payments.credit import _require_seller_org, change_account, lock_account  # noqa: PLC0415

    require(scope, Action.post_repayment)
    account = get_visible(session, CreditAccount, scope, account_id)
    _require_seller_org(scope, account.seller_org_id)
    with elevated(session, Why.use_credit, scope=system_scope(account.tenant_id)):
        try:
            with session.begin_nested():
                entry = _entry(session, account, CreditEntryKind.deposit_refund, amount_minor,
                               reference=reference, actor_id=scope.actor_id)
        except IntegrityError:
            raise DuplicateRepayment(f"The transfer {reference!r} is already recorded.") from None
        _, _, deposit = lock_account(session, account)
        if amount_minor > deposit:
            raise InsufficientDeposit(f"The deposit is {deposit}; {amount_minor} cannot be paid back.")
        change_account(session, account, deposit=-amount_minor)
        postings.post_deposit_refunded(session, tenant_id=account.tenant_id, seller=_seller(session, account),
                                       buyer_org_id=account.buyer_org_id, entry_id=entry.id,
                                       amount_minor=amount_minor, currency=account.currency)
    return entry
