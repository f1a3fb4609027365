"""Celery tasks of finance: a reconciliation run against the gateway."""

import logging
import uuid

from app.extensions import celery as celery_app
from app.finance import reconcile
from app.payments.gateway import current_gateway
from app.platform.broker import publish
from app.tenancy.elevation import kept_scope, run_as_system
from app.uow import unit_of_work

log = logging.getLogger(__name__)


@celery_app.task(name="app.finance.reconcile_tasks.reconcile_tenant")
def reconcile_tenant(tenant_id: str, run_id: str) -> str:
    """Run one queued reconciliation; a failure is recorded on the run (finance sees it), not lost."""
    tenant, run = uuid.UUID(tenant_id), uuid.UUID(run_id)
    with kept_scope():
        try:
            with unit_of_work() as session:
                run_as_system(session, tenant)
                return reconcile.run_reconciliation(session, tenant_id=tenant, run_id=run,
                                                    gateway=current_gateway()).status.value
        except Exception as error:
            log.exception("reconciliation %s failed", run_id)
            with unit_of_work() as session:
                run_as_system(session, tenant)
                reconcile.fail_run(session, tenant_id=tenant, run_id=run, error=repr(error))
            return "failed"


def enqueue_reconciliation(tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    """After the run's row committed; eager without a broker (the demo)."""
    publish(reconcile_tenant, str(tenant_id), str(run_id), what="reconciliation")


@celery_app.task(name="app.finance.reconcile_tasks.run_queued_reconciliations")
def run_queued_reconciliations() -> int:
    """Runs whose enqueue was lost (a broker outage) or whose worker died: run them now."""
    with unit_of_work() as session:
        due = reconcile.stale_runs(session)
    for tenant_id, run_id in due:
        reconcile_tenant.run(str(tenant_id), str(run_id))
    return len(due)
