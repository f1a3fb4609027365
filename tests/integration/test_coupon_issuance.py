"""Targeted issuance in batches (limits, quantity, reruns), expiry on the beat, set-based and idempotent."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.membership import coupons, issuance
from app.membership.coupon_models import Coupon, CouponIssueJob, CouponStatus, IssueJobStatus
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.offers import coupon_for, template
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


@pytest.fixture
def net(session):
    return make_tenant(session)


def _issued(session, net, tmpl) -> list:
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(Coupon.consumer_id).where(
        Coupon.tenant_id == net.tenant.id, Coupon.template_id == tmpl.id)).all()


def _run(session, net, job_id, batch):
    use_scope(session, system_scope(net.tenant.id))
    runs = 1
    while issuance.run_batch(session, tenant_id=net.tenant.id, job_id=job_id, batch=batch):
        runs += 1
    return runs


def _job(session, net, tmpl, segment):
    job = issuance.start(session, scope_of(session, net, "brand"), template_id=tmpl.id, segment=segment)
    session.info.pop("after_commit", None)  # the test runs the batches itself
    return job


def test_batches_issue_to_the_segment_once_each_and_a_rerun_adds_nothing(session, net):
    jingan = [add_consumer(session, net, "jingan") for _ in range(5)]
    add_consumer(session, net, "chengdu")
    tmpl = template(session, net, per_member_limit=2)
    job = _job(session, net, tmpl, {"home_store_ids": [net.org("jingan").id]})
    assert job.total == 5
    assert _run(session, net, job.id, batch=2) == 3
    assert sorted(_issued(session, net, tmpl)) == sorted(c.id for c in jingan)
    done = session.get(CouponIssueJob, (net.tenant.id, job.id), populate_existing=True)
    assert (done.status, done.done, done.issued) == (IssueJobStatus.done, 5, 5)
    session.execute(CouponIssueJob.__table__.update().values(status="running"))  # a second worker, late
    _run(session, net, job.id, batch=2)
    assert len(_issued(session, net, tmpl)) == 5


def test_the_total_quantity_stops_the_job_and_the_per_member_limit_skips_holders(session, net):
    people = [add_consumer(session, net, "jingan") for _ in range(4)]
    tmpl = template(session, net, per_member_limit=1, total_quantity=2)
    coupon_for(session, net, people[0], tmpl)
    session.execute(tmpl.__table__.update().where(tmpl.__table__.c.id == tmpl.id).values(issued_count=1))
    job = _job(session, net, tmpl, {})
    _run(session, net, job.id, batch=10)
    assert len(_issued(session, net, tmpl)) == 2
    done = session.get(CouponIssueJob, (net.tenant.id, job.id), populate_existing=True)
    assert done.note == "sold out" and done.issued == 1


def test_last_purchase_segments_by_the_latest_paid_order(session, net):
    catalog = stocked_catalog(session, net)
    buyer, idle = add_consumer(session, net, "jingan"), add_consumer(session, net, "jingan")
    from tests.factories import consumer_scope_of

    pay(session, retail_order(session, consumer_scope_of(session, buyer), catalog, 1).order)
    tmpl = template(session, net)
    recent = _job(session, net, tmpl, {"last_purchase_after": utcnow() - timedelta(days=1)})
    assert recent.total == 1
    _run(session, net, recent.id, batch=10)
    assert _issued(session, net, tmpl) == [buyer.id]
    assert idle.id not in _issued(session, net, tmpl)


def test_expiry_is_set_based_idempotent_and_leaves_used_coupons_alone(session, net):
    people = [add_consumer(session, net, "jingan") for _ in range(3)]
    tmpl = template(session, net)
    old = [coupon_for(session, net, person, tmpl, days=-1) for person in people[:2]]
    fresh = coupon_for(session, net, people[2], tmpl, days=5)
    use_scope(session, system_scope(net.tenant.id))
    assert coupons.expire(session, tenant_id=net.tenant.id) == 2
    assert coupons.expire(session, tenant_id=net.tenant.id) == 0
    statuses = dict(session.execute(select(Coupon.id, Coupon.status).where(
        Coupon.tenant_id == net.tenant.id).execution_options(populate_existing=True)).all())
    assert [statuses[c.id] for c in old] == [CouponStatus.expired] * 2
    assert statuses[fresh.id] is CouponStatus.available
    assert session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.tenant_id == net.tenant.id, Coupon.status == CouponStatus.expired)) == 2


def test_a_levels_exclusive_coupon_is_claimed_only_at_that_level(session, net):
    from app.membership.checkout_errors import CouponNotClaimable
    from app.membership.models import MemberLevel
    from tests.factories import consumer_scope_of
    from tests.support.offers import gold_member, program_with_gold

    program_with_gold(session, net)
    tmpl = template(session, net)
    gold = session.scalars(select(MemberLevel).where(MemberLevel.tenant_id == net.tenant.id,
                                                     MemberLevel.code == "gold")).one()
    gold.exclusive_coupon_template_ids = [str(tmpl.id)]
    session.flush()
    member, stranger = add_consumer(session, net, "jingan"), add_consumer(session, net, "jingan")
    gold_member(session, net, member)
    with pytest.raises(CouponNotClaimable):
        coupons.claim(session, consumer_scope_of(session, stranger), template_id=tmpl.id)
    assert coupons.claim(session, consumer_scope_of(session, member), template_id=tmpl.id).seq == 1
