"""Scheduled order timeouts (celery beat): one transaction per tenant, ids in, counts out."""

import uuid

from app.extensions import celery as celery_app
from app.extensions import db
from app.tenancy.elevation import Why, enter_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE

celery_app.conf.beat_schedule.update({
    "orders-cancel-unpaid": {"task": "app.orders.tasks.cancel_unpaid_orders", "schedule": 60.0},
    "orders-complete-shipped": {"task": "app.orders.tasks.complete_shipped_orders", "schedule": 3600.0},
})


def _tenant_ids() -> list[uuid.UUID]:
    from app.tenancy.models import Tenant  # noqa: PLC0415

    enter_scope(db.session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
    ids = db.session.scalars(db.select(Tenant.id)).all()
    db.session.commit()
    return list(ids)


def _run(tenant_id: str, job) -> int:
    from app.tenancy.models import Tenant  # noqa: PLC0415

    run_as_system(db.session, uuid.UUID(tenant_id))
    tenant = db.session.get(Tenant, uuid.UUID(tenant_id))
    ids = job(db.session, tenant=tenant)
    db.session.commit()
    return len(ids)


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
    """Every tenant's unpaid orders past their deadline; one task per tenant."""
    return sum(cancel_unpaid_for_tenant.run(str(tenant_id)) for tenant_id in _tenant_ids())


@celery_app.task(name="app.orders.tasks.complete_shipped_orders")
def complete_shipped_orders() -> int:
    return sum(complete_shipped_for_tenant.run(str(tenant_id)) for tenant_id in _tenant_ids())
