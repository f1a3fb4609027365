"""Celery tasks of settlement: send a claimed payout, recover unanswered ones, run due settlements."""

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.distribution import payouts
from app.distribution.settlement_models import Payout, PayoutMethod, PayoutStatus
from app.extensions import celery as celery_app
from app.payments.gateway import GatewayError, PaymentGateway, current_gateway
from app.platform.broker import publish
from app.tenancy.elevation import Why, enter_scope, run_as_system
from app.tenancy.models import Tenant
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work

log = logging.getLogger(__name__)


def send_payout_now(*, tenant_id: uuid.UUID, payout_id: uuid.UUID, gateway: PaymentGateway) -> str:
    """Read the committed claim, call the gateway outside any transaction, record the answer."""
    with unit_of_work() as session:
        run_as_system(session, tenant_id)
        request = payouts.transfer_request(session, tenant_id=tenant_id, payout_id=payout_id)
    if request is None:
        return "nothing_to_send"
    try:
        transfer = gateway.transfer(**request)
    except GatewayError as error:
        log.warning("payout %s: the gateway did not pay", payout_id, exc_info=True)
        with unit_of_work() as session:
            run_as_system(session, tenant_id)
            return payouts.record_refusal(session, tenant_id=tenant_id, payout_id=payout_id, error=str(error))
    with unit_of_work() as session:
        run_as_system(session, tenant_id)
        return payouts.record_transfer(session, tenant_id=tenant_id, payout_id=payout_id, transfer=transfer)


@celery_app.task(name="app.distribution.settlement_tasks.send_payout")
def send_payout(tenant_id: str, payout_id: str) -> str:
    return send_payout_now(tenant_id=uuid.UUID(tenant_id), payout_id=uuid.UUID(payout_id),
                           gateway=current_gateway())


def enqueue_payout(tenant_id: str, payout_id: str) -> None:
    """Called after the claim committed; a lost enqueue is picked up by recover_payouts."""
    publish(send_payout, tenant_id, payout_id, what="payout")


def _tenant_ids() -> list[uuid.UUID]:
    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        return list(session.scalars(select(Tenant.id)))


def resend_claimed_payouts(*, tenant_id: uuid.UUID, gateway: PaymentGateway,
                           older_than: timedelta = timedelta(0)) -> dict[str, int]:
    """Claimed transfers without an answer: sent again with the same key (the gateway replays)."""
    with unit_of_work() as session:
        run_as_system(session, tenant_id)
        ids = list(session.scalars(select(Payout.id).where(
            Payout.tenant_id == tenant_id, Payout.status == PayoutStatus.claimed,
            Payout.method == PayoutMethod.transfer, Payout.created_at <= utcnow() - older_than)
            .order_by(Payout.created_at)))
    outcomes: dict[str, int] = {}
    for payout_id in ids:
        outcome = send_payout_now(tenant_id=tenant_id, payout_id=payout_id, gateway=gateway)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@celery_app.task(name="app.distribution.settlement_tasks.recover_payouts")
def recover_payouts() -> int:
    return sum(sum(resend_claimed_payouts(tenant_id=tenant_id, gateway=current_gateway(),
                                          older_than=timedelta(minutes=2)).values())
               for tenant_id in _tenant_ids())


def settle_tenant(tenant_id: uuid.UUID) -> int:
    from app.distribution.statements import run_settlement  # noqa: PLC0415

    with unit_of_work() as session:
        scope = run_as_system(session, tenant_id)
        return run_settlement(session, scope).statements


@celery_app.task(name="app.distribution.settlement_tasks.run_due_settlements")
def run_due_settlements() -> int:
    """Every tenant's last closed period, settled (a re-run adds only what was missing)."""
    return sum(settle_tenant(tenant_id) for tenant_id in _tenant_ids())
