"""Scheduled distribution work: frozen commissions whose freeze ended become available, per tenant."""

import uuid

from sqlalchemy import select

from app.extensions import celery as celery_app
from app.tenancy.elevation import Why, enter_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work


def _tenant_ids() -> list[uuid.UUID]:
    from app.tenancy.models import Tenant  # noqa: PLC0415

    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        return list(session.scalars(select(Tenant.id)))


@celery_app.task(name="app.distribution.tasks.release_commissions_for_tenant")
def release_commissions_for_tenant(tenant_id: str) -> int:
    from app.distribution.accrual import release_due  # noqa: PLC0415

    with unit_of_work() as session:
        run_as_system(session, uuid.UUID(tenant_id))
        return release_due(session, tenant_id=uuid.UUID(tenant_id))


@celery_app.task(name="app.distribution.tasks.release_commissions")
def release_commissions() -> int:
    """Every tenant's due commissions; one transaction per tenant."""
    return sum(release_commissions_for_tenant.run(str(tenant_id)) for tenant_id in _tenant_ids())
