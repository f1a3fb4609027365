"""Promoters and bindings on PostgreSQL: modes, attribution, protection, cycles, audited re-bind."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.distribution import bindings, promoters
from app.distribution.errors import (
    BindingCycle,
    CustomerProtected,
    PromoterNotActive,
    PromotersClosed,
    SelfBinding,
    SpendThresholdNotMet,
)
from app.distribution.models import Binding, BindingEnd, BindingSource, PromoterStatus
from app.platform.models import OutboxEvent
from app.tenancy.enums import Role
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, add_user, consumer_scope_of, make_tenant, scope_of
from tests.support.scope import use_scope


def tenant(session, **distribution):
    return make_tenant(session, settings={"distribution": {"promoter_mode": "open", **distribution}})


def apply(session, consumer):
    return promoters.apply(session, consumer_scope_of(session, consumer))


def two_promoters(session, net):
    return tuple(apply(session, add_consumer(session, net, "jingan")) for _ in range(2))


def bind(session, consumer, promoter):
    return bindings.bind(session, consumer_scope_of(session, consumer), code=promoter.code,
                         source=BindingSource.qr_code)


def rows(session, net, consumer):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(Binding).where(Binding.tenant_id == net.tenant.id,
                                                 Binding.consumer_id == consumer.id)
                           .order_by(Binding.valid_from, Binding.id)
                           .execution_options(populate_existing=True)).all()


def test_by_approval_a_promoter_waits_and_a_manager_of_its_store_decides(session):
    net = tenant(session, promoter_mode="approval")
    person = add_consumer(session, net, "jingan")
    promoter = apply(session, person)
    assert promoter.status is PromoterStatus.pending and apply(session, person).id == promoter.id
    with pytest.raises(PermissionDenied):
        promoters.decide(session, scope_of(session, net, "jingan", Role.viewer), promoter_id=promoter.id,
                         approve=True)
    decided = promoters.decide(session, scope_of(session, net, "shanghai"), promoter_id=promoter.id,
                               approve=True)
    assert decided.status is PromoterStatus.active


def test_closed_and_spend_threshold_modes_refuse_who_may_not_share(session):
    closed = tenant(session, promoter_mode="closed")
    with pytest.raises(PromotersClosed):
        apply(session, add_consumer(session, closed, "jingan"))
    spend = tenant(session, promoter_mode="spend", spend_threshold_minor=1)
    with pytest.raises(SpendThresholdNotMet):
        apply(session, add_consumer(session, spend, "jingan"))


def test_first_touch_keeps_the_first_promoter_and_last_touch_moves_to_the_latest(session):
    net = tenant(session)
    a, b = two_promoters(session, net)
    buyer = add_consumer(session, net, "jingan")
    assert bind(session, buyer, a).changed
    assert not bind(session, buyer, b).changed
    assert [r.promoter_id for r in rows(session, net, buyer)] == [a.id]

    last = tenant(session, attribution="last_touch")
    a, b = two_promoters(session, last)
    buyer = add_consumer(session, last, "jingan")
    bind(session, buyer, a)
    assert bind(session, buyer, b).changed
    history = rows(session, last, buyer)
    assert [(r.promoter_id, r.ended_reason) for r in history] == [(a.id, BindingEnd.replaced), (b.id, None)]
    assert history[0].valid_to is not None


def test_protection_days_keep_another_promoter_from_taking_the_customer(session):
    net = tenant(session, attribution="last_touch", protection_days=15)
    a, b = two_promoters(session, net)
    buyer = add_consumer(session, net, "jingan")
    bind(session, buyer, a)
    with pytest.raises(CustomerProtected):
        bind(session, buyer, b)
    current = rows(session, net, buyer)[0]
    current.protected_until = utcnow() - timedelta(seconds=1)
    session.flush()
    assert bind(session, buyer, b).changed


def test_an_expired_binding_ends_as_expired_when_the_next_touch_comes(session):
    net = tenant(session, binding_validity_days=30)
    a, b = two_promoters(session, net)
    buyer = add_consumer(session, net, "jingan")
    first = bind(session, buyer, a).binding
    assert first.valid_to is not None
    use_scope(session, system_scope(net.tenant.id))
    first.valid_from, first.valid_to = utcnow() - timedelta(days=40), utcnow() - timedelta(days=10)
    session.flush()
    assert bind(session, buyer, b).changed
    assert [r.ended_reason for r in rows(session, net, buyer)] == [BindingEnd.expired, None]


def test_binding_oneself_or_closing_a_cycle_anywhere_up_the_chain_is_refused(session):
    net = tenant(session)
    people = [add_consumer(session, net, "jingan") for _ in range(3)]
    p0, p1, p2 = (apply(session, person) for person in people)
    with pytest.raises(SelfBinding):
        bind(session, people[0], p0)
    bind(session, people[1], p0)  # p0 ← p1
    bind(session, people[2], p1)  # p0 ← p1 ← p2
    with pytest.raises(BindingCycle):
        bind(session, people[0], p2)


def test_a_suspended_promoter_takes_no_new_customers(session):
    net = tenant(session)
    promoter = apply(session, add_consumer(session, net, "jingan"))
    promoters.decide(session, scope_of(session, net, "jingan"), promoter_id=promoter.id, approve=False)
    with pytest.raises(PromoterNotActive):
        bind(session, add_consumer(session, net, "jingan"), promoter)


def test_rebinding_needs_the_permission_ignores_protection_and_is_audited(session):
    net = tenant(session, attribution="last_touch", protection_days=30)
    a, b = two_promoters(session, net)
    buyer = add_consumer(session, net, "jingan")
    bind(session, buyer, a)
    add_user(session, net, "jingan", Role.guide)
    with pytest.raises(PermissionDenied):
        bindings.rebind(session, scope_of(session, net, "jingan", Role.guide), consumer_id=buyer.id,
                        promoter_id=b.id)
    bound = bindings.rebind(session, scope_of(session, net, "jingan"), consumer_id=buyer.id, promoter_id=b.id,
                            note="customer asked")
    assert bound.changed and [r.ended_reason for r in rows(session, net, buyer)] == [BindingEnd.rebound, None]
    assert session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id,
                                                     OutboxEvent.type == "bindings.rebind")).one()


def test_a_sibling_store_cannot_rebind_a_customer_it_does_not_see(session):
    net = tenant(session)
    a = apply(session, add_consumer(session, net, "jingan"))
    buyer = add_consumer(session, net, "jingan")
    from app.errors import NotFound  # noqa: PLC0415

    with pytest.raises(NotFound):
        bindings.rebind(session, scope_of(session, net, "chengdu"), consumer_id=buyer.id, promoter_id=a.id)
