"""What settlement posts to the journal: store takings, withholding and fees, payouts and their reversal.

Accounts (docs/settlement.md): the brand owes a store its takings in `takings_payable`
(counterparty the store) and every commission in `commission_payable` (ledger.py); the store
carries the mirror `takings_receivable` from the brand. Entries with role `store_takings` belong
to the first pair, all others to commission payable. Each posting is idempotent by its source key.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.distribution.ledger import EntryDraft, brand_id_of
from app.distribution.models import BeneficiaryKind, DistributionEntry, EntryKind, EntryRole
from app.distribution.settlement_models import Payout, PayoutMethod, Statement
from app.finance.accounts import account_refs, ensure_account
from app.finance.journal import post_entry, reverse_entry
from app.finance.models import AccountCode, JournalEntry
from app.orders.models import Order
from app.tenancy.models import Org
from app.tenancy.orgs import brand_root, org_by_id

A = AccountCode
E = DistributionEntry


def post_takings(session: Session, *, order: Order, store: Org, event_id: uuid.UUID,
                 written: Sequence[EntryDraft]) -> JournalEntry | None:
    """Brand: Cr takings payable to the store, Cr cost recoveries for what it charges the store;
    store: Dr takings receivable from the brand, Dr the fee and commissions it bears.

    With order.paid (Dr gateway clearing on the brand, Cr sales revenue on the store) each org's
    own books now balance: the store holds a receivable for its revenue, less what it bears.
    Accounts of their own (not `payable`/`receivable`, which are credit between buyer and seller,
    nor the brand's `gateway_fees`, which is what the gateway actually kept).
    """
    if not written:
        return None
    takings = sum(d.amount_minor for d in written if d.kind is EntryKind.takings)
    fee = sum(d.amount_minor for d in written if d.kind is EntryKind.fee)
    borne = sum(d.amount_minor for d in written if d.kind is EntryKind.adjustment)
    owed = takings + fee + borne
    tenant_id, currency = order.tenant_id, order.currency
    brand_id = brand_id_of(session, tenant_id)  # every paid store sale: accounts by cached ids

    def org(org_id: uuid.UUID) -> Org:
        return store if org_id == store.id else brand_root(session, tenant_id)

    payable, recoveries, receivable, fees, commissions = account_refs(
        session, tenant_id=tenant_id, currency=currency, org=org,
        wanted=[(brand_id, A.takings_payable, store.id), (brand_id, A.cost_recoveries, None),
                (store.id, A.takings_receivable, brand_id), (store.id, A.borne_gateway_fees, None),
                (store.id, A.borne_commissions, None)])
    return post_entry(
        session, tenant_id=tenant_id, owner_path=store.path, kind="store_takings",
        source_key=f"takings:{event_id}", currency=currency,
        lines=[(payable, -owed), (recoveries, fee + borne), (receivable, owed), (fees, -fee),
               (commissions, -borne)],
        memo="store takings", details={"order_id": str(order.id)})


def _split(session: Session, statement: Statement) -> tuple[int, int]:
    """(takings side, commission side) of a statement's entries, net of withholding and fees.

    Approval already took withholding and fees off commission payable, so what is left on it is
    exactly the commission side; the two sides sum to the statement's net.
    """
    is_takings = E.role == EntryRole.store_takings
    row = session.execute(select(
        func.coalesce(func.sum(case((is_takings, E.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(case((is_takings, 0), else_=E.amount_minor)), 0),
    ).where(E.tenant_id == statement.tenant_id, E.statement_id == statement.id)).one()
    return int(row[0]), int(row[1])


def _commission_payable(session: Session, statement: Statement, brand: Org):
    counterparty = statement.beneficiary_org_id if statement.beneficiary_kind == BeneficiaryKind.org else None
    return ensure_account(session, tenant_id=statement.tenant_id, org=brand, code=A.commission_payable,
                          currency=statement.currency, counterparty_org_id=counterparty)


def post_deductions(session: Session, statement: Statement) -> JournalEntry | None:
    """On approval: withholding moves to the tax payable, a withdrawal fee becomes income."""
    amounts = dict(session.execute(select(E.kind, func.sum(E.amount_minor)).where(
        E.tenant_id == statement.tenant_id, E.statement_id == statement.id,
        E.kind.in_([EntryKind.withholding, EntryKind.fee]), E.role != EntryRole.store_takings)
        .group_by(E.kind)).all())
    withheld, fee = -int(amounts.get(EntryKind.withholding) or 0), -int(amounts.get(EntryKind.fee) or 0)
    brand = brand_root(session, statement.tenant_id)

    def account(code: AccountCode):
        return ensure_account(session, tenant_id=statement.tenant_id, org=brand, code=code,
                              currency=statement.currency)

    return post_entry(
        session, tenant_id=statement.tenant_id, owner_path=statement.owner_path, kind="statement_deductions",
        source_key=f"statement.deductions:{statement.id}", currency=statement.currency,
        lines=[(_commission_payable(session, statement, brand), withheld + fee),
               (account(A.withholding_payable), -withheld), (account(A.distribution_fee_income), -fee)],
        memo="withholding and fees of a statement", details={"statement_id": str(statement.id)})


def post_payout(session: Session, statement: Statement, payout: Payout) -> JournalEntry | None:
    """Dr what the brand owed (takings payable, commission payable); Cr the gateway balance or the bank.

    A store also receives its takings: Dr its cash, Cr its receivable from the brand.
    """
    tenant_id, currency = statement.tenant_id, statement.currency
    brand = brand_root(session, tenant_id)
    takings, commissions = _split(session, statement)

    def account(org: Org, code: AccountCode, counterparty: uuid.UUID | None = None):
        return ensure_account(session, tenant_id=tenant_id, org=org, code=code, currency=currency,
                              counterparty_org_id=counterparty)

    paid_from = A.gateway_clearing if payout.method is PayoutMethod.transfer else A.cash
    lines = [(_commission_payable(session, statement, brand), commissions),
             (account(brand, paid_from), -payout.amount_minor)]
    if takings:
        store = org_by_id(session, tenant_id, statement.beneficiary_org_id)
        lines += [(account(brand, A.takings_payable, store.id), takings),
                  (account(store, A.cash), takings),
                  (account(store, A.takings_receivable, brand.id), -takings)]
    return post_entry(
        session, tenant_id=tenant_id, owner_path=statement.owner_path, kind="distribution_payout",
        source_key=f"payout:{payout.id}", currency=currency, lines=lines,
        memo=f"statement paid ({payout.method.value})",
        details={"statement_id": str(statement.id), "payout_id": str(payout.id)})


def reverse_payout(session: Session, payout: Payout) -> JournalEntry | None:
    """The transfer came back: the brand owes the money again (the payout's entry, reversed)."""
    from app.finance.journal import find_entry  # noqa: PLC0415

    entry = find_entry(session, payout.tenant_id, f"payout:{payout.id}")
    if entry is None:
        return None
    return reverse_entry(session, tenant_id=payout.tenant_id, entry_id=entry.id, memo="payout reversed")
