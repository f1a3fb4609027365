"""B2B terms: credit on account (授信) within a limit, bank transfers confirmed by the seller, aging."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance import postings
from app.orders.audit import audit_order
from app.orders.models import OrderFlow, OrderStatus, Refund
from app.orders.payment_hooks import mark_paid, mark_refund_executed
from app.orders.queries import get_order
from app.payments.errors import (
    CreditLimitExceeded,
    InvalidRepayment,
    NoCreditAccount,
    NotPayable,
    NotSellerFinance,
    NotTheBuyer,
)
from app.payments.models import (
    CreditAccount,
    CreditEntry,
    CreditEntryKind,
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundExecutionStatus,
    RefundReason,
)
from app.platform.audit import audit
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

BUCKETS = ("0-30", "31-60", "61-90", "90+")


# --- pure rules ----------------------------------------------------------------------------------

def age_bucket(days: int) -> str:
    if days <= 30:
        return BUCKETS[0]
    if days <= 60:
        return BUCKETS[1]
    return BUCKETS[2] if days <= 90 else BUCKETS[3]


def allocate_oldest_first(outstanding: list[int], amount: int) -> list[int]:
    """How much of `amount` settles each open charge, oldest first; parts sum to min(amount, owed)."""
    parts = []
    for owed in outstanding:
        part = min(owed, amount)
        parts.append(part)
        amount -= part
    return parts


# --- use cases -----------------------------------------------------------------------------------

def _require_seller_org(scope: Scope, org_id: uuid.UUID) -> None:
    """Money between two orgs is the seller's own business, not that of the orgs above it."""
    if not (scope.is_staff and scope.org_id == org_id):
        raise NotSellerFinance("Only the seller org's own staff may do this.")


def set_credit_limit(session: Session, scope: Scope, *, buyer_org_id: uuid.UUID, limit_minor: int,
                     currency: str | None = None) -> CreditAccount:
    """The seller sets (or changes) the credit limit of a buyer org directly below it."""
    require(scope, Action.set_credit_limit)
    buyer = get_visible(session, Org, scope, buyer_org_id)
    _require_seller_org(scope, buyer.parent_id)
    with elevated(session, Why.use_credit, scope=system_scope(scope.tenant_id)):
        from app.tenancy.models import Tenant  # noqa: PLC0415

        currency = currency or session.get(Tenant, scope.tenant_id).currency
        account = _account(session, scope.tenant_id, buyer.parent_id, buyer.id)
        if account is None:
            account = CreditAccount(tenant_id=scope.tenant_id, id=uuid7(), seller_org_id=buyer.parent_id,
                                    buyer_org_id=buyer.id, currency=currency, limit_minor=limit_minor,
                                    used_minor=0, owner_path=buyer.path)
            session.add(account)
        else:
            account.limit_minor = limit_minor
        session.flush()
    audit(session, scope, "credit.set_limit", owner_path=account.owner_path, subject_id=account.id,
          subject_type="credit_account", buyer_org_id=buyer.id, limit_minor=limit_minor)
    return account


def _account(session: Session, tenant_id, seller_org_id, buyer_org_id) -> CreditAccount | None:
    return session.scalars(select(CreditAccount).where(
        CreditAccount.tenant_id == tenant_id, CreditAccount.seller_org_id == seller_org_id,
        CreditAccount.buyer_org_id == buyer_org_id)).one_or_none()


def pay_on_credit(session: Session, scope: Scope, *, order_id: uuid.UUID) -> Payment:
    """The buyer org pays a pending purchase/replenish order on account, within its credit limit."""
    require(scope, Action.pay_order)
    order = get_order(session, scope, order_id)
    if not (scope.is_staff and scope.org_id == order.buyer_org_id):
        raise NotTheBuyer("Only the buying org's staff pay its orders on credit.")
    if order.flow is OrderFlow.retail or order.status is not OrderStatus.pending_payment:
        raise NotPayable("Only a pending purchase or replenishment order is paid on credit.")
    with elevated(session, Why.use_credit, scope=system_scope(order.tenant_id)):
        account = _account(session, order.tenant_id, order.seller_org_id, order.buyer_org_id)
        if account is None or account.currency != order.currency:
            raise NoCreditAccount("The seller has not granted this buyer credit in this currency.")
        # One conditional UPDATE: concurrent orders cannot together go past the limit.
        charged = session.execute(
            update(CreditAccount)
            .where(CreditAccount.tenant_id == account.tenant_id, CreditAccount.id == account.id,
                   CreditAccount.used_minor + order.total_minor <= CreditAccount.limit_minor)
            .values(used_minor=CreditAccount.used_minor + order.total_minor)
            .returning(CreditAccount.id)).first()
        if charged is None:
            session.refresh(account)
            raise CreditLimitExceeded(
                f"Credit limit {account.limit_minor}, used {account.used_minor}: "
                f"{order.total_minor} more does not fit.")
        session.refresh(account)
        entry = CreditEntry(tenant_id=order.tenant_id, id=uuid7(), account_id=account.id,
                            kind=CreditEntryKind.charge, order_id=order.id, amount_minor=order.total_minor,
                            outstanding_minor=order.total_minor, owner_path=account.owner_path,
                            recorded_by_id=scope.actor_id)
        payment = Payment(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, gateway="credit",
                          gateway_ref=str(entry.id), status=PaymentStatus.succeeded,
                          amount_minor=order.total_minor, received_minor=order.total_minor,
                          currency=order.currency, owner_path=order.owner_path, seller_path=order.seller_path,
                          confirmed_by_id=scope.actor_id)
        session.add_all([entry, payment])
        session.flush()
        mark_paid(session, tenant_id=order.tenant_id, order_id=order.id, amount_minor=order.total_minor,
                  payment_ref=str(entry.id), method="credit")
    audit_order(session, scope, order, Action.pay_order, method="credit", amount=order.total_minor)
    return payment


def confirm_bank_transfer(session: Session, scope: Scope, *, order_id: uuid.UUID,
                          reference: str) -> Payment:
    """The seller's finance saw the money arrive (bank transfer, or an offline demo payment): paid."""
    from app.payments.gateway import GatewayPayment  # noqa: PLC0415
    from app.payments.offline_gateway import OfflineGateway  # noqa: PLC0415
    from app.payments.retail import payment_succeeded  # noqa: PLC0415

    require(scope, Action.confirm_payment)
    order = get_order(session, scope, order_id)
    _require_seller_org(scope, order.seller_org_id)
    if order.status is not OrderStatus.pending_payment:
        raise NotPayable(f"The order is {order.status.value}; only a pending order can be confirmed.")
    with elevated(session, Why.use_credit, scope=system_scope(order.tenant_id)):
        payment = session.scalars(select(Payment).where(
            Payment.tenant_id == order.tenant_id, Payment.order_id == order.id,
            Payment.gateway == OfflineGateway.name, Payment.status == PaymentStatus.pending)).first()
        if payment is None:
            payment = Payment(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id,
                              gateway=OfflineGateway.name, gateway_ref=f"bank:{reference}",
                              status=PaymentStatus.pending, amount_minor=order.total_minor,
                              currency=order.currency, owner_path=order.owner_path,
                              seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id)
            session.add(payment)
            session.flush()
        at_gateway = GatewayPayment(id=payment.gateway_ref, status="succeeded",
                                    amount_minor=order.total_minor, currency=order.currency,
                                    amount_received_minor=order.total_minor)
        payment_succeeded(session, tenant_id=order.tenant_id, at_gateway=at_gateway,
                          gateway=OfflineGateway(), confirmed_by=scope.actor_id, reference=reference)
        session.refresh(payment)
    audit_order(session, scope, order, Action.confirm_payment, reference=reference, amount=order.total_minor)
    return payment


def record_repayment(session: Session, scope: Scope, *, account_id: uuid.UUID, amount_minor: int,
                     reference: str) -> CreditEntry:
    """The buyer paid back: oldest charges first; the used credit and the receivable go down."""
    require(scope, Action.post_repayment)
    account = get_visible(session, CreditAccount, scope, account_id)
    _require_seller_org(scope, account.seller_org_id)
    with elevated(session, Why.use_credit, scope=system_scope(account.tenant_id)):
        lowered = session.execute(
            update(CreditAccount)
            .where(CreditAccount.tenant_id == account.tenant_id, CreditAccount.id == account.id,
                   CreditAccount.used_minor >= amount_minor)
            .values(used_minor=CreditAccount.used_minor - amount_minor).returning(CreditAccount.id)).first()
        if lowered is None:
            raise InvalidRepayment("The repayment is more than the buyer owes.")
        session.refresh(account)
        entry = _settle_charges(session, account, amount_minor, CreditEntryKind.repayment, reference,
                                scope.actor_id)
        seller = session.get(Org, (account.tenant_id, account.seller_org_id))
        postings.post_repayment(session, tenant_id=account.tenant_id, seller=seller,
                                buyer_org_id=account.buyer_org_id, entry_id=entry.id,
                                amount_minor=amount_minor, currency=account.currency)
    audit(session, scope, "credit.post_repayment", owner_path=account.owner_path, subject_id=account.id,
          subject_type="credit_account", amount=amount_minor, reference=reference)
    return entry


def _settle_charges(session: Session, account: CreditAccount, amount_minor: int, kind: CreditEntryKind,
                    reference: str | None, actor_id, order_id: uuid.UUID | None = None) -> CreditEntry:
    charges = list(session.scalars(select(CreditEntry).where(
        CreditEntry.tenant_id == account.tenant_id, CreditEntry.account_id == account.id,
        CreditEntry.kind == CreditEntryKind.charge, CreditEntry.outstanding_minor > 0)
        .order_by((CreditEntry.order_id != order_id) if order_id else CreditEntry.created_at,
                  CreditEntry.created_at)))
    for charge, part in zip(charges, allocate_oldest_first([c.outstanding_minor for c in charges],
                                                           amount_minor), strict=True):
        charge.outstanding_minor -= part
    entry = CreditEntry(tenant_id=account.tenant_id, id=uuid7(), account_id=account.id, kind=kind,
                        order_id=order_id, amount_minor=amount_minor, outstanding_minor=0,
                        reference=reference, owner_path=account.owner_path, recorded_by_id=actor_id)
    session.add(entry)
    session.flush()
    return entry


def credit_note(session: Session, *, payment: Payment, refund: Refund) -> PaymentRefund:
    """A refund of an order paid on credit lowers what the buyer owes instead of moving money."""
    charge = session.get(CreditEntry, (payment.tenant_id, uuid.UUID(payment.gateway_ref)))
    account = session.get(CreditAccount, (payment.tenant_id, charge.account_id))
    # What was already repaid stays repaid: the note lowers only what is still owed.
    amount = min(refund.amount_minor, account.used_minor)
    account.used_minor -= amount
    note = _settle_charges(session, account, amount, CreditEntryKind.credit_note,
                           f"refund {refund.id}", None, order_id=payment.order_id) if amount else None
    row = PaymentRefund(tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id,
                        order_id=payment.order_id, refund_id=refund.id, reason=RefundReason.order_refund,
                        idempotency_key=f"refund:{refund.id}",
                        gateway_ref=f"credit:{note.id if note else refund.id}",
                        amount_minor=refund.amount_minor, currency=payment.currency,
                        status=RefundExecutionStatus.succeeded, executed_at=utcnow(),
                        owner_path=payment.owner_path, seller_path=payment.seller_path)
    payment.refunded_minor += refund.amount_minor
    session.add(row)
    session.flush()
    mark_refund_executed(session, tenant_id=payment.tenant_id, refund_id=refund.id,
                         gateway_ref=row.gateway_ref)
    return row


@dataclass
class AgedBalance:
    account: CreditAccount
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))

    @property
    def total_minor(self) -> int:
        return sum(self.buckets.values())


def aged_statement(session: Session, scope: Scope, *, as_of: datetime | None = None) -> list[AgedBalance]:
    """What each buyer in my scope owes, by the age of the unpaid charges (0-30, 31-60, 61-90, 90+ days)."""
    as_of = as_of or utcnow()
    accounts = {a.id: AgedBalance(a) for a in session.scalars(
        scoped(CreditAccount, scope).order_by(CreditAccount.owner_path))}
    if accounts:
        for charge in session.scalars(scoped(CreditEntry, scope).where(
                CreditEntry.account_id.in_(list(accounts)), CreditEntry.kind == CreditEntryKind.charge,
                CreditEntry.outstanding_minor > 0)):
            days = (as_of - charge.created_at).days
            accounts[charge.account_id].buckets[age_bucket(days)] += charge.outstanding_minor
    return list(accounts.values())

