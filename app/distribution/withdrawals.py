"""Withdrawals (提现): a promoter takes their available money now, for a fee, as a statement of its own.

The same set-based settlement as a period run, narrowed to one beneficiary: their available
entries are settled into a `withdrawal` statement with a `fee` entry (the tenant's rule: a rate
with a floor), individuals' tax withheld. The brand's finance approves and pays it like any
statement. Partial amounts are not offered: entries are never split, so a withdrawal takes
everything available (docs/settlement.md).
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.distribution.models import BeneficiaryKind
from app.distribution.settlement_errors import NotAPromoter
from app.distribution.settlement_models import Statement, StatementKind
from app.distribution.statements import settle, settlement_settings
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import ActorKind
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope


def beneficiary_of(scope: Scope) -> tuple[str, object]:
    """Who asks: a consumer-promoter, or a staff member (a guide) for themselves."""
    if scope.actor_kind is ActorKind.consumer and scope.consumer_id:
        return BeneficiaryKind.consumer.value, scope.consumer_id
    if scope.actor_kind is ActorKind.staff and scope.actor_id:
        return BeneficiaryKind.staff.value, scope.actor_id
    raise NotAPromoter("Only a promoter (a consumer or a staff member) withdraws their own money.")


def request_withdrawal(session: Session, scope: Scope) -> Statement:
    """Settle everything available to the caller into a withdrawal statement (pending approval)."""
    require(scope, Action.request_withdrawal)
    kind, beneficiary_id = beneficiary_of(scope)
    key = f"withdrawal:{uuid7()}"
    now = utcnow()
    with elevated(session, Why.settle_distribution, scope=system_scope(scope.tenant_id)):
        settings = settlement_settings(session, scope.tenant_id)
        settle(session, tenant_id=scope.tenant_id, settings=settings, kind=StatementKind.withdrawal, key=key,
               period_start=now, period_end=now, beneficiary=(kind, beneficiary_id))
        statement = session.scalars(select(Statement).where(
            Statement.tenant_id == scope.tenant_id, Statement.run_key == key)).one()
    return statement
