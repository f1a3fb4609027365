"""Targeted coupon issuance (千人千券): a segment of members, issued in batches by a task.

A segment is data: `home_store_ids`, `level_codes`, `last_purchase_after`, `last_purchase_before`
(the member's latest paid order), all optional and combined with AND. Consumers carry no tags
yet, so there is no tag filter. Each batch is one transaction: one SELECT of the next members of
the segment that may still receive the coupon (per-member limit, not yet issued by this job),
one multi-row INSERT … ON CONFLICT DO NOTHING, one conditional UPDATE of the template's quantity,
one UPDATE of the job's progress. Ids are UUIDv7 made in Python, hence the SELECT then INSERT
instead of one INSERT … SELECT. A rerun (a second worker, the sweep) continues from the job's
cursor, and the unique (template, member, seq) key refuses a duplicate.
"""

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.catalog.access import require_brand_staff
from app.db import after_commit, insert_or_ignore, utcnow, uuid7
from app.errors import NotFound
from app.membership.checkout_errors import InvalidSegment
from app.membership.coupon_models import Coupon, CouponIssueJob, CouponStatus, CouponTemplate, IssueJobStatus
from app.membership.coupons import get_template, take_quantity, validity
from app.orders.models import Order, OrderFlow
from app.tenancy.filters import scoped
from app.tenancy.models import Consumer
from app.tenancy.permissions import Action
from app.tenancy.scope import Scope

BATCH = 1000
SEGMENT_KEYS = {"home_store_ids", "level_codes", "last_purchase_after", "last_purchase_before"}
PAID = ("paid", "shipped", "completed")


def start(session: Session, scope: Scope, *, template_id: uuid.UUID, segment: dict) -> CouponIssueJob:
    """Queue an issuance of the template to the segment; the task runs it after the commit."""
    require_brand_staff(scope, Action.manage_coupons)
    template = get_template(session, scope, template_id)
    unknown = set(segment) - SEGMENT_KEYS
    if unknown:
        raise InvalidSegment(f"Unknown segment keys: {sorted(unknown)}.")
    if not template.active:
        raise InvalidSegment("The template is not active.")
    stored = {key: ([str(v) for v in value] if isinstance(value, list) else
                    value.isoformat() if isinstance(value, datetime) else value)
              for key, value in segment.items() if value is not None}
    job = CouponIssueJob(tenant_id=scope.tenant_id, id=uuid7(), owner_path=scope.org_path,
                         template_id=template.id, segment=stored, status=IssueJobStatus.queued,
                         total=0, done=0, issued=0, requested_by=scope.actor_id)
    job.total = session.scalar(select(func.count()).select_from(_members(session, job).subquery()))
    session.add(job)
    session.flush()
    tenant_id, job_id = str(job.tenant_id), str(job.id)

    def enqueue() -> None:
        from app.membership.coupon_tasks import enqueue_issue_job  # noqa: PLC0415  (tasks build on us)

        enqueue_issue_job(tenant_id, job_id)

    after_commit(session, enqueue)
    return job


def get_job(session: Session, scope: Scope, job_id: uuid.UUID) -> CouponIssueJob:
    job = session.scalar(scoped(CouponIssueJob, scope).where(CouponIssueJob.id == job_id))
    if job is None:
        raise NotFound("No coupon issuance job with that id.")
    return job


def _members(session: Session, job: CouponIssueJob):
    """SELECT id, owner_path of the segment's consumers, by id (the batch cursor)."""
    segment, tenant_id = job.segment or {}, job.tenant_id
    query = select(Consumer.id, Consumer.owner_path).where(Consumer.tenant_id == tenant_id)
    if segment.get("home_store_ids"):
        query = query.where(Consumer.home_store_id.in_([uuid.UUID(s) for s in segment["home_store_ids"]]))
    if segment.get("level_codes"):
        query = query.where(Consumer.id.in_(_level_members(tenant_id, segment["level_codes"])))
    if segment.get("last_purchase_after") or segment.get("last_purchase_before"):
        last = (select(func.max(Order.paid_at)).where(
            Order.tenant_id == tenant_id, Order.buyer_consumer_id == Consumer.id,
            Order.flow == OrderFlow.retail, Order.status.in_(PAID)).scalar_subquery())
        if segment.get("last_purchase_after"):
            query = query.where(last >= datetime.fromisoformat(segment["last_purchase_after"]))
        if segment.get("last_purchase_before"):
            query = query.where(last < datetime.fromisoformat(segment["last_purchase_before"]))
    return query.order_by(Consumer.id)


def _level_members(tenant_id: uuid.UUID, codes: list[str]):
    """Consumer ids of members at these levels (member-a's Member and MemberLevel)."""
    from app.membership.segments import members_at_levels  # noqa: PLC0415

    return members_at_levels(tenant_id, codes)


def run_batch(session: Session, *, tenant_id: uuid.UUID, job_id: uuid.UUID, batch: int = BATCH) -> bool:
    """Issue to the next `batch` members of the job's segment; False once the job is finished."""
    job = session.scalar(select(CouponIssueJob).where(
        CouponIssueJob.tenant_id == tenant_id, CouponIssueJob.id == job_id).with_for_update()
        .execution_options(populate_existing=True))
    if job is None or job.status in (IssueJobStatus.done, IssueJobStatus.failed):
        return False
    template = session.get(CouponTemplate, (tenant_id, job.template_id))
    page = _members(session, job)
    cursor = (job.segment or {}).get("_after")
    if cursor:
        page = page.where(Consumer.id > uuid.UUID(cursor))
    page = page.limit(batch).subquery()
    held = (select(func.count()).where(Coupon.tenant_id == tenant_id, Coupon.template_id == template.id,
                                       Coupon.consumer_id == page.c.id).scalar_subquery())
    by_job = (select(Coupon.id).where(Coupon.tenant_id == tenant_id, Coupon.template_id == template.id,
                                      Coupon.consumer_id == page.c.id, Coupon.issued_by_job_id == job.id)
              .exists())
    rows = session.execute(select(page.c.id, page.c.owner_path, held.label("held"), ~by_job)
                           .order_by(page.c.id)).all()
    if not rows:
        return _finish(session, job, IssueJobStatus.done)
    now = utcnow()
    valid_from, valid_to = validity(template, now)
    wanted = [{"tenant_id": tenant_id, "id": uuid7(), "owner_path": path, "template_id": template.id,
               "consumer_id": consumer_id, "seq": count + 1, "status": CouponStatus.available.value,
               "valid_from": valid_from, "valid_to": valid_to, "order_id": None, "used_at": None,
               "issued_by_job_id": job.id, "created_at": now}
              for consumer_id, path, count, fresh in rows if fresh and count < template.per_member_limit]
    if template.total_quantity is not None:
        wanted = wanted[:max(template.total_quantity - _issued(session, template), 0)]
    issued = 0
    if wanted:
        issued = len(session.execute(insert_or_ignore(session, Coupon.__table__).values(wanted)
                                     .returning(Coupon.id)).all())
        # Parallel claims may have taken the room since the read: CouponSoldOut rolls the batch back
        # and the next run issues what is left.
        take_quantity(session, template, issued)
    sold_out = template.total_quantity is not None and _issued(session, template) >= template.total_quantity
    job.segment = {**(job.segment or {}), "_after": str(rows[-1][0])}
    session.execute(update(CouponIssueJob).where(
        CouponIssueJob.tenant_id == tenant_id, CouponIssueJob.id == job.id).values(
        done=CouponIssueJob.done + len(rows), issued=CouponIssueJob.issued + issued,
        status=IssueJobStatus.running, segment=job.segment).execution_options(synchronize_session=False))
    if sold_out or len(rows) < batch:
        return _finish(session, job, IssueJobStatus.done, note="sold out" if sold_out else None)
    return True


def _issued(session: Session, template: CouponTemplate) -> int:
    return session.scalar(select(CouponTemplate.issued_count).where(
        CouponTemplate.tenant_id == template.tenant_id, CouponTemplate.id == template.id))


def _finish(session: Session, job: CouponIssueJob, status: IssueJobStatus, note: str | None = None) -> bool:
    session.execute(update(CouponIssueJob).where(
        CouponIssueJob.tenant_id == job.tenant_id, CouponIssueJob.id == job.id).values(
        status=status, finished_at=utcnow(), note=note).execution_options(synchronize_session=False))
    return False
