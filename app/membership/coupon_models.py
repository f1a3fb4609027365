"""Coupons (优惠券): the brand's templates, coupons issued to members, targeted issuance jobs."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, JsonType, OwnerPathMixin, TenantKeyMixin, UtcDateTime, str_enum
from app.tenancy.enums import Dataset
from app.tenancy.models import tenant_fk


class CouponKind(StrEnum):
    amount_off = "amount_off"  # 满减: a fixed amount off from a threshold
    percent_off = "percent_off"  # 折扣: a percentage off, with an optional cap
    no_threshold = "no_threshold"  # 无门槛: a fixed amount off, no threshold


class CouponScope(StrEnum):
    all = "all"
    category = "category"
    skus = "skus"


class CouponStatus(StrEnum):
    available = "available"
    used = "used"
    expired = "expired"


class IssueJobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class CouponTemplate(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """What a coupon is worth, where it applies, how long it lasts, how many exist (brand-owned)."""

    __tablename__ = "coupon_templates"
    __rls__ = "tenant"  # every scope of the tenant reads the terms; only the brand writes them
    __table_args__ = (
        tenant_fk(["category_id"], "categories"),
        CheckConstraint("total_quantity IS NULL OR issued_count <= total_quantity", name="within_quantity"),
        CheckConstraint("issued_count >= 0 AND per_member_limit >= 1", name="counts_sane"),
        CheckConstraint("amount_off_minor >= 0 AND min_goods_minor >= 0"
                        " AND percent_off_bp >= 0 AND percent_off_bp <= 10000", name="terms_sane"),
        CheckConstraint("(valid_days IS NULL) <> (valid_to IS NULL)", name="one_validity"),
    )

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CouponKind] = mapped_column(str_enum(CouponKind))
    amount_off_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    percent_off_bp: Mapped[int] = mapped_column(Integer, default=0)  # 1500 = 15 % off
    max_off_minor: Mapped[int | None] = mapped_column(BigInteger)  # the cap of a percent_off
    min_goods_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the 满 of 满减
    applies_to: Mapped[CouponScope] = mapped_column(str_enum(CouponScope), default=CouponScope.all)
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sku_ids: Mapped[list] = mapped_column(JsonType, default=list)
    store_ids: Mapped[list | None] = mapped_column(JsonType)  # None: every store
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)  # fixed dates ...
    valid_days: Mapped[int | None] = mapped_column(Integer)  # ... or N days from issue
    per_member_limit: Mapped[int] = mapped_column(Integer, default=1)
    total_quantity: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    issued_count: Mapped[int] = mapped_column(Integer, default=0)  # claimed by conditional UPDATE
    claimable: Mapped[bool] = mapped_column(Boolean, default=True)  # members may claim it themselves
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Coupon(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One coupon of one member, used at most once (conditional UPDATE available → used).

    `seq` numbers a member's coupons of one template (1..per_member_limit); the unique key makes
    the per-member limit hold under parallel claims and issuance jobs.
    """

    __tablename__ = "coupons"
    __dataset__ = Dataset.consumers
    __consumer_column__ = "consumer_id"
    __table_args__ = (
        tenant_fk(["template_id"], "coupon_templates"),
        tenant_fk(["consumer_id"], "consumers", ondelete="CASCADE"),
        tenant_fk(["order_id"], "orders"),
        UniqueConstraint("tenant_id", "template_id", "consumer_id", "seq"),
        Index("ix_coupons_consumer", "tenant_id", "consumer_id", "status", "valid_to"),
        Index("ix_coupons_expiry", "tenant_id", "status", "valid_to"),
        Index("ix_coupons_order", "tenant_id", "order_id"),
        CheckConstraint("(status = 'used') = (order_id IS NOT NULL)", name="used_by_an_order"),
    )

    template_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    consumer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[CouponStatus] = mapped_column(str_enum(CouponStatus), default=CouponStatus.available)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime] = mapped_column(UtcDateTime)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_by_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: claimed by the member


class CouponIssueJob(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """Targeted issuance (千人千券) to a segment, run by a task in batches; progress as counts."""

    __tablename__ = "coupon_issue_jobs"
    __table_args__ = (
        tenant_fk(["template_id"], "coupon_templates"),
        CheckConstraint("done >= 0 AND issued >= 0 AND issued <= done", name="progress_sane"),
    )

    template_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    segment: Mapped[dict] = mapped_column(JsonType, default=dict)
    status: Mapped[IssueJobStatus] = mapped_column(str_enum(IssueJobStatus), default=IssueJobStatus.queued)
    total: Mapped[int] = mapped_column(Integer, default=0)  # members in the segment
    done: Mapped[int] = mapped_column(Integer, default=0)  # members handled so far
    issued: Mapped[int] = mapped_column(Integer, default=0)  # coupons issued (limits may skip some)
    note: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
