"""Approving and paying statements: claim before paying, one idempotency key per statement.

Paying through the gateway is two transactions and a call between them (DESIGN "money under
concurrency"): `pay_statement` claims (approved → paying by a conditional UPDATE, a payout row
with its idempotency key) and commits; after the commit a task sends the transfer; the answer is
recorded in a new transaction. A retry — the task again, the recovery beat, a crash in between —
sends the very same request (same key, same body), so the gateway pays at most once. A payout
the gateway refuses, or reverses after sending (webhook), reopens the statement; paying it again
is a new attempt with a new key, and the journal takes the reversed payment back.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import after_commit, utcnow, uuid7
from app.distribution.models import DistributionEntry, EntryStatus
from app.distribution.settlement_errors import NoPayoutAccount, NothingToPay, StatementNotInState
from app.distribution.settlement_models import (
    Payout,
    PayoutAccount,
    PayoutMethod,
    PayoutStatus,
    Statement,
    StatementStatus,
)
from app.distribution.settlement_postings import post_deductions, post_payout, reverse_payout
from app.distribution.statements import root_path
from app.errors import NotFound
from app.payments.gateway import GatewayTransfer, transfer_idempotency_key
from app.payments.models import Payment
from app.tenancy.elevation import Why, elevated
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

S = Statement
MAX_TRIES = 5  # then the payout counts as refused and the statement reopens


def _claim(session: Session, statement: Statement, *, from_: tuple[StatementStatus, ...],
           to: StatementStatus, **values) -> bool:
    """Move the statement only if it is still where the caller saw it (a parallel click loses)."""
    moved = session.execute(
        update(S).where(S.tenant_id == statement.tenant_id, S.id == statement.id, S.status.in_(from_))
        .values(status=to, updated_at=utcnow(), **values).returning(S.id)
        .execution_options(synchronize_session=False)).first()
    if moved is not None:
        session.refresh(statement)
    return moved is not None


@contextmanager
def as_payer(session: Session, scope: Scope) -> Iterator[None]:
    """Statements are the brand's payables: its finance (or owner, admin) acts on every one of them.

    The brand-level holder of `statements.approve` reads and moves every statement of its tenant
    whatever the tenant's `commissions` sharing default (aggregate unless widened); anyone else is
    refused before any look-up (the 403 names the action and reveals nothing). Beneficiaries read
    theirs through the ordinary scope (app/distribution/statement_queries.py).
    """
    require(scope, Action.approve_statements, on=root_path(scope.org_path or "/"))
    with elevated(session, Why.settle_distribution, scope=system_scope(scope.tenant_id)):
        yield


def _statement(session: Session, tenant_id: uuid.UUID, statement_id: uuid.UUID) -> Statement:
    statement = session.scalars(select(Statement).where(
        Statement.tenant_id == tenant_id, Statement.id == statement_id)).one_or_none()
    if statement is None:
        raise NotFound("No distribution statement with that id.")
    return statement


def approve_statement(session: Session, scope: Scope, statement_id: uuid.UUID) -> Statement:
    """Finance approves a statement (or a reopened one again); withholding and fees are posted once."""
    with as_payer(session, scope):
        statement = _statement(session, scope.tenant_id, statement_id)
        if not _claim(session, statement, from_=(StatementStatus.pending_approval, StatementStatus.reopened),
                      to=StatementStatus.approved, approved_by=scope.actor_id, approved_at=utcnow()):
            raise StatementNotInState(f"The statement is {statement.status.value}; only a pending or "
                                      "reopened statement can be approved.")
        post_deductions(session, statement)
        return statement


def pay_statement(session: Session, scope: Scope, statement_id: uuid.UUID) -> Payout:
    """Claim a gateway payout of an approved statement; the transfer is sent after this commits."""
    with as_payer(session, scope):
        statement = _statement(session, scope.tenant_id, statement_id)
        account = session.scalars(select(PayoutAccount).where(
            PayoutAccount.tenant_id == statement.tenant_id,
            PayoutAccount.beneficiary_kind == statement.beneficiary_kind,
            PayoutAccount.beneficiary_id == statement.beneficiary_id)).one_or_none()
        if account is None:
            raise NoPayoutAccount("The beneficiary has no connected account: pay this statement offline.")
        payout = _claim_payout(session, statement, PayoutMethod.transfer, destination=account.connect_account,
                               source_charge=_source_charge(session, statement))
    tenant_id, payout_id = str(payout.tenant_id), str(payout.id)

    def enqueue() -> None:
        from app.distribution.settlement_tasks import enqueue_payout  # noqa: PLC0415  (tasks build on us)

        enqueue_payout(tenant_id, payout_id)

    after_commit(session, enqueue)
    return payout


def pay_offline(session: Session, scope: Scope, statement_id: uuid.UUID, *, bank_reference: str) -> Payout:
    """Finance paid an approved statement by bank: recorded as paid with its reference, once."""
    with as_payer(session, scope):
        statement = _statement(session, scope.tenant_id, statement_id)
        if statement.status is StatementStatus.paid:
            paid = _last_payout(session, statement)
            if (paid is not None and paid.method is PayoutMethod.offline
                    and paid.bank_reference == bank_reference):
                return paid  # the same request again
        payout = _claim_payout(session, statement, PayoutMethod.offline, bank_reference=bank_reference)
        _record_sent(session, statement, payout, gateway_ref=None)
        return payout


def _claim_payout(session: Session, statement: Statement, method: PayoutMethod, **values) -> Payout:
    if statement.net_minor <= 0:
        raise NothingToPay("The statement pays nothing.")
    attempt = statement.payout_attempts + 1
    if not _claim(session, statement, from_=(StatementStatus.approved,), to=StatementStatus.paying,
                  payout_attempts=S.payout_attempts + 1):
        raise StatementNotInState(f"The statement is {statement.status.value}; only an approved statement "
                                  "can be paid.")
    # One key per statement; a reopened statement's next attempt is a new payment, so a new key.
    key_of = str(statement.id) if attempt == 1 else f"{statement.id}:{attempt}"
    payout = Payout(tenant_id=statement.tenant_id, id=uuid7(), owner_path=statement.owner_path,
                    statement_id=statement.id, beneficiary_consumer_id=statement.beneficiary_consumer_id,
                    attempt=attempt, method=method, status=PayoutStatus.claimed,
                    amount_minor=statement.net_minor, currency=statement.currency,
                    idempotency_key=transfer_idempotency_key(statement.tenant_id, key_of), tries=0, **values)
    session.add(payout)
    session.flush()
    return payout


def _source_charge(session: Session, statement: Statement) -> str | None:
    """The charge a transfer draws on, when the whole statement comes from one order's charge."""
    E = DistributionEntry
    orders = session.scalars(select(E.order_id).where(
        E.tenant_id == statement.tenant_id, E.statement_id == statement.id).distinct().limit(2)).all()
    if len(orders) != 1 or orders[0] is None:
        return None
    return session.scalars(select(Payment.charge_ref).where(
        Payment.tenant_id == statement.tenant_id, Payment.order_id == orders[0], Payment.gateway == "stripe",
        Payment.charge_ref.is_not(None))).first()


def _last_payout(session: Session, statement: Statement) -> Payout | None:
    return session.scalars(select(Payout).where(
        Payout.tenant_id == statement.tenant_id, Payout.statement_id == statement.id)
        .order_by(Payout.attempt.desc()).limit(1)).first()


def _set_entries(session: Session, statement: Statement, status: EntryStatus) -> None:
    E = DistributionEntry
    session.execute(update(E).where(E.tenant_id == statement.tenant_id, E.statement_id == statement.id)
                    .values(status=status).execution_options(synchronize_session=False))


def _record_sent(session: Session, statement: Statement, payout: Payout, *, gateway_ref: str | None) -> None:
    """paying → paid, its entries paid, the payment posted; a second answer changes nothing."""
    moved = session.execute(update(Payout).where(
        Payout.tenant_id == payout.tenant_id, Payout.id == payout.id, Payout.status == PayoutStatus.claimed)
        .values(status=PayoutStatus.sent, gateway_ref=gateway_ref, sent_at=utcnow(), last_error=None)
        .returning(Payout.id).execution_options(synchronize_session=False)).first()
    if moved is None:
        return
    _claim(session, statement, from_=(StatementStatus.paying,), to=StatementStatus.paid, paid_at=utcnow())
    _set_entries(session, statement, EntryStatus.paid)
    session.refresh(payout)
    post_payout(session, statement, payout)


# --- the task's side: read the claim, record the gateway's answer (system scope of the tenant) ------

def transfer_request(session: Session, *, tenant_id: uuid.UUID, payout_id: uuid.UUID) -> dict | None:
    """What to send for a claimed payout (identical on every retry), or None if nothing is left to send."""
    payout = session.get(Payout, (tenant_id, payout_id))
    if (payout is None or payout.status is not PayoutStatus.claimed
            or payout.method is not PayoutMethod.transfer):
        return None
    return {"amount_minor": payout.amount_minor, "currency": payout.currency,
            "destination": payout.destination,
            "source_charge": payout.source_charge, "transfer_group": f"statement:{payout.statement_id}",
            "idempotency_key": payout.idempotency_key,
            "metadata": {"tenant_id": str(tenant_id), "statement_id": str(payout.statement_id),
                         "payout_id": str(payout.id)}}


def record_transfer(session: Session, *, tenant_id: uuid.UUID, payout_id: uuid.UUID,
                    transfer: GatewayTransfer) -> str:
    payout = session.get(Payout, (tenant_id, payout_id))
    statement = session.get(Statement, (tenant_id, payout.statement_id))
    _record_sent(session, statement, payout, gateway_ref=transfer.id)
    if transfer.reversed:
        return payout_reversed(session, tenant_id=tenant_id, transfer_id=transfer.id)
    return "sent"


def record_refusal(session: Session, *, tenant_id: uuid.UUID, payout_id: uuid.UUID, error: str) -> str:
    """The gateway did not pay: counted; after MAX_TRIES identical requests the statement reopens."""
    tries = session.execute(update(Payout).where(
        Payout.tenant_id == tenant_id, Payout.id == payout_id, Payout.status == PayoutStatus.claimed)
        .values(tries=Payout.tries + 1, last_error=error[:500]).returning(Payout.tries)
        .execution_options(synchronize_session=False)).scalar()
    if tries is None or tries < MAX_TRIES:
        return "retry_later"
    payout = session.get(Payout, (tenant_id, payout_id))
    session.refresh(payout)
    payout.status = PayoutStatus.failed
    statement = session.get(Statement, (tenant_id, payout.statement_id))
    _claim(session, statement, from_=(StatementStatus.paying,), to=StatementStatus.reopened)
    session.flush()
    return "failed"


def bank_returned(session: Session, scope: Scope, statement_id: uuid.UUID) -> Statement:
    """Finance reports that the bank sent an offline payout back: the statement reopens."""
    with as_payer(session, scope):
        statement = _statement(session, scope.tenant_id, statement_id)
        payout = _last_payout(session, statement)
        if (statement.status is not StatementStatus.paid or payout is None
                or payout.method is not PayoutMethod.offline):
            raise StatementNotInState("Only a statement paid by bank can have its payout returned.")
        _reopen(session, statement, payout)
        return statement


def payout_reversed(session: Session, *, tenant_id: uuid.UUID, transfer_id: str) -> str:
    """A sent transfer came back (reversed, or failed at the gateway): reopen, book the money back."""
    payout = session.scalars(select(Payout).where(
        Payout.tenant_id == tenant_id, Payout.gateway_ref == transfer_id)).one_or_none()
    if payout is None:
        return "unknown_transfer"
    statement = session.get(Statement, (tenant_id, payout.statement_id))
    return "reopened" if _reopen(session, statement, payout) else "already_reversed"


def _reopen(session: Session, statement: Statement, payout: Payout) -> bool:
    """sent → reversed once; the statement paid → reopened, its entries settled, the payment reversed."""
    moved = session.execute(update(Payout).where(
        Payout.tenant_id == payout.tenant_id, Payout.id == payout.id, Payout.status == PayoutStatus.sent)
        .values(status=PayoutStatus.reversed).returning(Payout.id)
        .execution_options(synchronize_session=False)).first()
    if moved is None:
        return False
    _claim(session, statement, from_=(StatementStatus.paid,), to=StatementStatus.reopened, paid_at=None)
    _set_entries(session, statement, EntryStatus.settled)
    reverse_payout(session, payout)
    return True
