"""Test helpers for settlement: available entries written straight into the ledger."""

import itertools
from datetime import UTC, datetime

from app.db import uuid7
from app.distribution.ledger import Beneficiary, EntryDraft, write_entries
from app.distribution.models import BeneficiaryKind, EntryKind, EntryRole, EntryStatus
from app.tenancy.scope import system_scope
from tests.support.scope import use_scope

_keys = itertools.count(1)
# A moment inside the week of Monday 2026-11-23; a run at NOW settles that week.
IN_PERIOD = datetime(2026, 11, 25, 12, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 1, tzinfo=UTC)


def org_payee(net, key: str) -> Beneficiary:
    org = net.org(key)
    return Beneficiary(BeneficiaryKind.org, org.id, org.id, org.path)


def consumer_payee(consumer) -> Beneficiary:
    return Beneficiary(BeneficiaryKind.consumer, consumer.id, consumer.home_store_id, consumer.owner_path)


def entry(session, net, payee: Beneficiary, amount: int, *, kind=EntryKind.commission,
          role=EntryRole.promoter_l1, status=EntryStatus.available, available_at=IN_PERIOD,
          currency="CNY") -> EntryDraft:
    use_scope(session, system_scope(net.tenant.id))
    draft = EntryDraft(beneficiary=payee, kind=kind, role=role, amount_minor=amount, currency=currency,
                       status=status, source_key=f"test:{next(_keys)}:{uuid7()}", available_at=available_at)
    write_entries(session, net.tenant.id, [draft])
    return draft


def payout_account(session, net, payee: Beneficiary, account: str = "acct_standin_payee"):
    from app.distribution.settlement_models import PayoutAccount  # noqa: PLC0415

    use_scope(session, system_scope(net.tenant.id))
    row = PayoutAccount(tenant_id=net.tenant.id, id=uuid7(), owner_path=payee.owner_path,
                        beneficiary_kind=payee.kind.value, beneficiary_id=payee.id, connect_account=account)
    session.add(row)
    session.flush()
    return row
