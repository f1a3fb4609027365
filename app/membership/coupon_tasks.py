"""Coupon tasks: run an issuance job batch by batch, resume unfinished jobs, expire coupons (beat)."""

import uuid

from sqlalchemy import select

from app.extensions import celery as celery_app
from app.platform.broker import publish
from app.tenancy.elevation import Why, enter_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work


def enqueue_issue_job(tenant_id: str, job_id: str) -> None:
    publish(run_issue_job, tenant_id, job_id, what="coupon issuance")


@celery_app.task(name="app.membership.coupon_tasks.run_issue_job")
def run_issue_job(tenant_id: str, job_id: str) -> int:
    """Every batch of one job, each in its own transaction (progress is visible as it goes)."""
    from app.membership.issuance import run_batch  # noqa: PLC0415

    batches = 0
    more = True
    while more:
        with unit_of_work() as session:
            run_as_system(session, uuid.UUID(tenant_id))
            more = run_batch(session, tenant_id=uuid.UUID(tenant_id), job_id=uuid.UUID(job_id))
        batches += 1
    return batches


@celery_app.task(name="app.membership.coupon_tasks.resume_issue_jobs")
def resume_issue_jobs() -> int:
    """The sweep behind every publish: unfinished jobs of every tenant run again from their cursor."""
    from app.membership.coupon_models import CouponIssueJob, IssueJobStatus  # noqa: PLC0415

    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        tenants = list(session.scalars(select(_tenant_ids())))
    jobs = []
    for tenant_id in tenants:
        with unit_of_work() as session:
            run_as_system(session, tenant_id)
            jobs += [(str(tenant_id), str(job_id)) for job_id in session.scalars(
                select(CouponIssueJob.id).where(
                    CouponIssueJob.tenant_id == tenant_id,
                    CouponIssueJob.status.in_([IssueJobStatus.queued, IssueJobStatus.running])))]
    for tenant_id, job_id in jobs:
        run_issue_job.run(tenant_id, job_id)
    return len(jobs)


@celery_app.task(name="app.membership.coupon_tasks.expire_coupons")
def expire_coupons() -> int:
    """Every tenant's coupons past their validity → expired, set-based, one transaction per batch."""
    from app.membership.coupons import expire  # noqa: PLC0415

    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        tenants = list(session.scalars(select(_tenant_ids())))
    expired = 0
    for tenant_id in tenants:
        while True:
            with unit_of_work() as session:
                run_as_system(session, tenant_id)
                count = expire(session, tenant_id=tenant_id)
            expired += count
            if count == 0:
                break
    return expired


def _tenant_ids():
    from app.tenancy.models import Tenant  # noqa: PLC0415

    return select(Tenant.id).subquery()
