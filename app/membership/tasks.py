"""Scheduled membership batches (celery beat): per tenant, batch after batch, each its own commit."""

import uuid

from sqlalchemy import select

from app.extensions import celery as celery_app
from app.tenancy.elevation import Why, enter_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import retry_lock_conflicts, unit_of_work

MAX_BATCHES = 1_000  # per tenant and run: the next run carries on


def _tenant_ids() -> list[uuid.UUID]:
    from app.tenancy.models import Tenant  # noqa: PLC0415

    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        return list(session.scalars(select(Tenant.id)))


@retry_lock_conflicts
def _run(tenant_id: uuid.UUID, job, **kwargs):
    with unit_of_work() as session:
        run_as_system(session, tenant_id)
        return job(session, tenant_id, **kwargs)


def _points_batches(job) -> int:
    total = 0
    for tenant_id in _tenant_ids():
        for _ in range(MAX_BATCHES):
            moved = _run(tenant_id, job)
            total += moved
            if not moved:
                break
    return total


@celery_app.task(name="app.membership.tasks.expire_points")
def expire_points() -> int:
    """Expire due lots of every tenant; points expired."""
    from app.membership.batches import expire_batch  # noqa: PLC0415

    return _points_batches(expire_batch)


@celery_app.task(name="app.membership.tasks.release_pending_points")
def release_pending_points() -> int:
    """Pending points past the return window become available; points released."""
    from app.membership.batches import release_batch  # noqa: PLC0415

    return _points_batches(release_batch)


@celery_app.task(name="app.membership.tasks.reevaluate_levels")
def reevaluate_levels() -> int:
    """Every member's window growth and level; members evaluated."""
    from app.membership.batches import reevaluate_batch  # noqa: PLC0415

    evaluated = 0
    for tenant_id in _tenant_ids():
        after = None
        for _ in range(MAX_BATCHES):
            batch = _run(tenant_id, reevaluate_batch, after=after)
            evaluated += batch.members
            if batch.last_id is None:
                break
            after = batch.last_id
    return evaluated


@celery_app.task(name="app.membership.tasks.birthday_gifts")
def birthday_gifts() -> int:
    """Today's birthday gift points, tenant by tenant; points given."""
    from app.membership.gifts import grant_birthday_gifts  # noqa: PLC0415

    return sum(_run(tenant_id, grant_birthday_gifts) for tenant_id in _tenant_ids())
