"""B2B terms: credit on account (授信) within a limit, bank transfers confirmed by the seller, aging."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance import postings
from app.orders import locks
from app.orders.audit import audit_order
from app.orders.models import OrderFlow, OrderStatus, Refund
from app.orders.payment_hooks import mark_paid, mark_refund_executed
from app.orders.queries import get_order
from app.payments import deposits
from app.payments.errors import (
    CreditLimitExceeded,
    DuplicateRepayment,
    IdempotencyKeyReused,
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
    RefundChannel,
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
    """The buyer org pays a pending purchase/replenish order on account: its deposit first, then credit."""
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
        limit, used, deposit = lock_account(session, account)
        from_deposit = min(deposit, order.total_minor)
        on_credit = order.total_minor - from_deposit
        if used + on_credit > limit:
            raise CreditLimitExceeded(
                f"Credit limit {limit}, used {used}: {on_credit} more does not fit.")
        change_account(session, account, used=on_credit, deposit=-from_deposit)
        entry = CreditEntry(tenant_id=order.tenant_id, id=uuid7(), account_id=account.id,
                            kind=CreditEntryKind.charge, order_id=order.id, amount_minor=order.total_minor,
                            outstanding_minor=on_credit, owner_path=account.owner_path,
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
        if from_deposit:
            deposits.apply_deposit(session, account=account, order=order, amount_minor=from_deposit,
                                   actor_id=scope.actor_id)
    audit_order(session, scope, order, Action.pay_order, method="credit", amount=order.total_minor)
    return payment


def lock_account(session: Session, account: CreditAccount) -> tuple[int, int, int]:
    """Take the account's row lock (a no-op UPDATE) and read (limit, used, deposit) under it.

    Everything that moves a credit account takes this lock first, so concurrent charges,
    repayments and credit notes queue on the row and each sees the others' committed totals.
    """
    row = session.execute(
        update(CreditAccount).where(CreditAccount.tenant_id == account.tenant_id,
                                    CreditAccount.id == account.id)
        .values(updated_at=utcnow())
        .returning(CreditAccount.limit_minor, CreditAccount.used_minor, CreditAccount.deposit_minor)
        .execution_options(synchronize_session=False)).one()
    return int(row[0]), int(row[1]), int(row[2])


def change_account(session: Session, account: CreditAccount, *, used: int = 0, deposit: int = 0) -> None:
    """Increments in SQL (never `x += a` on a loaded row); the CHECKs refuse a negative total."""
    session.execute(
        update(CreditAccount).where(CreditAccount.tenant_id == account.tenant_id,
                                    CreditAccount.id == account.id)
        .values(used_minor=CreditAccount.used_minor + used,
                deposit_minor=CreditAccount.deposit_minor + deposit)
        .execution_options(synchronize_session=False))
    session.expire(account, ["used_minor", "deposit_minor", "updated_at"])


def confirm_bank_transfer(session: Session, scope: Scope, *, order_id: uuid.UUID,
                          reference: str) -> Payment:
    """The seller's finance saw the money arrive (bank transfer, or an offline demo payment): paid."""
    from app.payments.gateway import GatewayPayment  # noqa: PLC0415
    from app.payments.intents import payment_succeeded  # noqa: PLC0415
    from app.payments.offline_gateway import OfflineGateway  # noqa: PLC0415

    require(scope, Action.confirm_payment)
    order = get_order(session, scope, order_id)
    _require_seller_org(scope, order.seller_org_id)
    with elevated(session, Why.use_credit, scope=system_scope(order.tenant_id)):
        booked = session.scalars(select(Payment).where(
            Payment.tenant_id == order.tenant_id, Payment.gateway == OfflineGateway.name,
            (Payment.reference == reference) | (Payment.gateway_ref == f"bank:{reference}"))).first()
        if booked is not None:
            if booked.order_id != order.id:
                raise NotPayable(f"The transfer {reference!r} is already booked on another order.")
            return booked  # the same transfer confirmed again: nothing more arrived
        # A transfer for an order that is no longer pending (cancelled, or paid another way)
        # still arrived: payment_succeeded turns it into an unapplied receipt for finance.
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
                     reference: str, idempotency_key: str | None = None) -> CreditEntry:
    """The buyer paid back: oldest charges first; the used credit and the receivable go down.

    Once per bank transfer: the reference is unique per account (the same transfer posted again
    is refused), and the same Idempotency-Key answers the first entry again.
    """
    require(scope, Action.post_repayment)
    account = get_visible(session, CreditAccount, scope, account_id)
    _require_seller_org(scope, account.seller_org_id)
    with elevated(session, Why.use_credit, scope=system_scope(account.tenant_id)):
        replay = _repayment_replay(session, account, amount_minor, reference, idempotency_key)
        if replay is not None:
            return replay
        entry = CreditEntry(tenant_id=account.tenant_id, id=uuid7(), account_id=account.id,
                            kind=CreditEntryKind.repayment, amount_minor=amount_minor, outstanding_minor=0,
                            reference=reference, idempotency_key=idempotency_key,
                            owner_path=account.owner_path, recorded_by_id=scope.actor_id)
        try:
            # The unique index decides between parallel posts of one transfer: the loser waits
            # for the winner's commit, then fails here and answers as a replay or a duplicate.
            with session.begin_nested():
                session.add(entry)
                session.flush()
        except IntegrityError:
            replay = _repayment_replay(session, account, amount_minor, reference, idempotency_key)
            if replay is None:
                raise
            return replay
        _, used, _ = lock_account(session, account)
        if amount_minor > used:
            raise InvalidRepayment(f"The repayment is more than the buyer owes ({used}).")
        change_account(session, account, used=-amount_minor)
        _settle_charges(session, account, amount_minor)
        seller = session.get(Org, (account.tenant_id, account.seller_org_id))
        postings.post_repayment(session, tenant_id=account.tenant_id, seller=seller,
                                buyer_org_id=account.buyer_org_id, entry_id=entry.id,
                                amount_minor=amount_minor, currency=account.currency)
    audit(session, scope, "credit.post_repayment", owner_path=account.owner_path, subject_id=account.id,
          subject_type="credit_account", amount=amount_minor, reference=reference)
    return entry


def _repayment_replay(session: Session, account: CreditAccount, amount_minor: int, reference: str,
                      key: str | None) -> CreditEntry | None:
    """The entry an earlier post of this key made (same body), or a refusal if the transfer is booked."""
    same = (CreditEntry.reference == reference) & (CreditEntry.kind == CreditEntryKind.repayment)
    if key is not None:
        same = same | (CreditEntry.idempotency_key == key)
    found = list(session.scalars(select(CreditEntry).where(
        CreditEntry.tenant_id == account.tenant_id, CreditEntry.account_id == account.id, same)
        .execution_options(populate_existing=True)))
    for entry in found:
        if key is not None and entry.idempotency_key == key:
            if (entry.amount_minor, entry.reference) != (amount_minor, reference):
                raise IdempotencyKeyReused("This Idempotency-Key recorded another repayment.")
            return entry
    if found:
        raise DuplicateRepayment(f"The transfer {reference!r} is already recorded on this account.")
    return None


def _settle_charges(session: Session, account: CreditAccount, amount_minor: int,
                    order_id: uuid.UUID | None = None) -> None:
    """Lower open charges by amount_minor (this order's first, then the oldest), as SQL decrements."""
    charges = list(session.execute(select(CreditEntry.id, CreditEntry.outstanding_minor).where(
        CreditEntry.tenant_id == account.tenant_id, CreditEntry.account_id == account.id,
        CreditEntry.kind == CreditEntryKind.charge, CreditEntry.outstanding_minor > 0)
        .order_by((CreditEntry.order_id != order_id) if order_id else CreditEntry.created_at,
                  CreditEntry.created_at, CreditEntry.id)))
    parts = allocate_oldest_first([int(owed) for _, owed in charges], amount_minor)
    for (charge_id, _), part in zip(charges, parts, strict=True):
        if part:
            session.execute(update(CreditEntry).where(
                CreditEntry.tenant_id == account.tenant_id, CreditEntry.id == charge_id,
                CreditEntry.outstanding_minor >= part)
                .values(outstanding_minor=CreditEntry.outstanding_minor - part))


def credit_note(session: Session, *, payment: Payment, refund: Refund) -> PaymentRefund:
    """A refund of an order paid on credit lowers what the buyer owes; beyond that, it is a deposit.

    The buyer who already repaid keeps the money: the part of the refund the account no longer
    owes becomes a customer deposit (journaled), used by the next order or paid back by finance.
    """
    locks.lock_order(session, payment.tenant_id, payment.order_id)  # the order row first, then the account
    charge = session.get(CreditEntry, (payment.tenant_id, uuid.UUID(payment.gateway_ref)))
    account = session.get(CreditAccount, (payment.tenant_id, charge.account_id))
    _, used, _ = lock_account(session, account)
    lowered = min(refund.amount_minor, used)
    excess = refund.amount_minor - lowered
    change_account(session, account, used=-lowered, deposit=excess)
    note = None
    if lowered:
        _settle_charges(session, account, lowered, order_id=payment.order_id)
        note = CreditEntry(tenant_id=account.tenant_id, id=uuid7(), account_id=account.id,
                           kind=CreditEntryKind.credit_note, order_id=payment.order_id,
                           amount_minor=lowered, outstanding_minor=0, reference=f"refund {refund.id}",
                           owner_path=account.owner_path)
        session.add(note)
    if excess:
        deposits.add_deposit(session, account=account, order_id=payment.order_id, refund_id=refund.id,
                             amount_minor=excess)
    row = PaymentRefund(tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id,
                        order_id=payment.order_id, refund_id=refund.id, reason=RefundReason.order_refund,
                        idempotency_key=f"refund:{refund.id}",
                        gateway_ref=f"credit:{note.id if note else refund.id}",
                        amount_minor=refund.amount_minor, currency=payment.currency,
                        status=RefundExecutionStatus.succeeded, executed_at=utcnow(),
                        channel=RefundChannel.credit, attempts=0,
                        owner_path=payment.owner_path, seller_path=payment.seller_path)
    session.add(row)
    session.execute(update(Payment).where(Payment.tenant_id == payment.tenant_id, Payment.id == payment.id)
                    .values(refunded_minor=Payment.refunded_minor + refund.amount_minor,
                            refund_reserved_minor=Payment.refund_reserved_minor + refund.amount_minor)
                    .execution_options(synchronize_session=False))
    session.expire(payment, ["refunded_minor", "refund_reserved_minor"])
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
            created = charge.created_at
            if created.tzinfo is None:  # SQLite keeps no offset: the value is UTC
                created = created.replace(tzinfo=UTC)
            days = (as_of - created).days
            accounts[charge.account_id].buckets[age_bucket(days)] += charge.outstanding_minor
    return list(accounts.values())

