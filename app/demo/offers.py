"""Demo coupons and points mall: three templates (满减, 折扣 with a cap, 无门槛), coupons issued to every
demo member through a targeted issuance, and one points-mall item (run after seed_catalog)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Sku
from app.demo.catalog import _brand_scope
from app.membership import coupons, issuance, mall
from app.membership.coupon_models import CouponKind, CouponScope
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.models import Org, Tenant

TEMPLATES = [
    {"name": "满199减30", "kind": CouponKind.amount_off, "amount_off_minor": 3_000, "min_goods_minor": 19_900,
     "valid_days": 30, "total_quantity": 10_000, "claimable": True},
    {"name": "会员日 85 折 (最高减 50)", "kind": CouponKind.percent_off, "percent_off_bp": 1_500,
     "max_off_minor": 5_000, "valid_days": 14, "claimable": False},
    {"name": "无门槛 10 元", "kind": CouponKind.no_threshold, "amount_off_minor": 1_000, "valid_days": 7,
     "applies_to": CouponScope.all, "claimable": True, "per_member_limit": 2},
]


def seed_offers(session: Session, tenant: Tenant, orgs: dict[str, Org]) -> dict[str, object]:
    """Templates, every demo member's coupons (one issuance job per template) and a mall item."""
    scope = _brand_scope(tenant, orgs["brand"])
    enter_scope(session, Why.seed_demo, scope=scope)
    made = [coupons.create_template(session, scope, **terms) for terms in TEMPLATES]
    for template in made[1:]:  # 折扣 only by issuance; 无门槛 issued once, claimable once more
        job = issuance.start(session, scope, template_id=template.id, segment={})
        while issuance.run_batch(session, tenant_id=tenant.id, job_id=job.id):
            pass
    sku = session.scalars(select(Sku).where(Sku.tenant_id == tenant.id).order_by(Sku.code)).first()
    item = mall.create_item(session, scope, sku_id=sku.id, name=f"{sku.name} (积分兑换)", points_price=2_000,
                            cash_minor=990, stock=50) if sku else None
    session.flush()
    return {"templates": made, "mall_item": item}
