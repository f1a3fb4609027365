"""Scheduled order timeouts (celery beat): one transaction per tenant, ids in, counts out."""

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


def _run(tenant_id: str, job) -> int:
    from app.tenancy.models import Tenant  # noqa: PLC0415

    with unit_of_work() as session:
        run_as_system(session, uuid.UUID(tenant_id))
        tenant = session.get(Tenant, uuid.UUID(tenant_id))
        return len(job(session, tenant=tenant))


@celery_app.task(name="app.orders.tasks.cancel_unpaid_for_tenant")
def cancel_unpaid_for_tenant(tenant_id: str) -> int:
    from app.orders.timeouts import cancel_unpaid  # noqa: PLC0415

    return _run(tenant_id, cancel_unpaid)


@celery_app.task(name="app.orders.tasks.complete_shipped_for_tenant")
def complete_shipped_for_tenant(tenant_id: str) -> int:
    from app.orders.timeouts import complete_shipped  # noqa: PLC0415

    return _run(tenant_id, complete_shipped)


@celery_app.task(name="app.orders.tasks.cancel_unpaid_orders")
def cancel_unpaid_orders() -> int:
    """Every tenant's unpaid orders past their deadline; one transaction per tenant."""
    return sum(cancel_unpaid_for_tenant.run(str(tenant_id)) for tenant_id in _tenant_ids())


@celery_app.task(name="app.orders.tasks.complete_shipped_orders")
def complete_shipped_orders() -> int:
    return sum(complete_shipped_for_tenant.run(str(tenant_id)) for tenant_id in _tenant_ids())
