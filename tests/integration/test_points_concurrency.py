"""Points under real concurrency: parallel spends on separate app-role connections, committed.

The invariant: a point is spent once; the balance and every lot stay at or above zero, and the
member's totals equal what the lots hold, whatever the interleaving.
"""

import uuid

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.membership import points
from app.membership.batches import expire_batch
from app.membership.models import LotStatus, Member, PointsLot, PointsMove
from app.tenancy.resolve import consumer_scope
from app.tenancy.scope import system_scope
from tests import database
from tests.factories import add_consumer, make_tenant
from tests.support.committed import delete_tenant
from tests.support.membership import member_with_lots, setup_program, soon
from tests.support.money import parallel
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres

THREADS = 12


@pytest.fixture
def committed(app):
    admin_url, _, app_url = database.test_urls()
    admin_engine = create_engine(admin_url, poolclass=NullPool)
    app_engine = create_engine(app_url, pool_size=THREADS + 2, max_overflow=4)
    with Session(admin_engine) as admin:
        net = make_tenant(admin)
        setup_program(admin, net)
        consumer = add_consumer(admin, net, "jingan")
        # 10 lots of 10 points, some about to expire: 100 points in all
        member_with_lots(admin, net, consumer, *[(10, soon(n + 1)) for n in range(10)])
        admin.commit()
        tenant_id, consumer_id = net.tenant.id, consumer.id
    try:
        yield tenant_id, consumer_id, sessionmaker(bind=app_engine, expire_on_commit=False)
    finally:
        app_engine.dispose()
        admin_engine.dispose()
        delete_tenant(tenant_id)


def state(factory, tenant_id, consumer_id):
    with factory() as session:
        use_scope(session, system_scope(tenant_id))
        member = session.scalars(select(Member).where(Member.tenant_id == tenant_id,
                                                      Member.consumer_id == consumer_id)).one()
        lots = session.scalars(select(PointsLot).where(PointsLot.tenant_id == tenant_id,
                                                       PointsLot.member_id == member.id)).all()
        spent = -session.scalar(select(func.coalesce(func.sum(PointsMove.points), 0)).where(
            PointsMove.tenant_id == tenant_id, PointsMove.kind == "spend"))
        return member, lots, spent


@pytest.mark.parametrize("spender", [points.spend, points.spend_at_checkout])  # checkout: no savepoint
@pytest.mark.parametrize("each", [9, 30])  # 12 × each > 100: some must be refused
def test_parallel_spends_never_take_a_point_twice_or_go_negative(committed, each, spender):
    tenant_id, consumer_id, factory = committed
    scope = consumer_scope(tenant_id, consumer_id)

    def spend(i: int) -> str:
        with factory() as session:  # a refusal leaves without commit: the session rolls back
            use_scope(session, scope)
            spender(session, tenant_id=tenant_id, consumer_id=consumer_id, points=each,
                    order_id=None, source_key=f"race:{uuid.uuid4()}")
            session.commit()
            return "spent"

    outcomes = parallel(THREADS, spend)
    member, lots, spent = state(factory, tenant_id, consumer_id)
    assert outcomes["spent"] == 100 // each and outcomes["insufficient_points"] == THREADS - 100 // each
    assert spent == outcomes["spent"] * each
    assert member.points_available == 100 - spent == sum(lot.remaining for lot in lots)
    assert all(lot.remaining >= 0 for lot in lots)


def test_spends_racing_the_expiry_batch_keep_totals_equal_to_the_lots(committed):
    tenant_id, consumer_id, factory = committed
    scope = consumer_scope(tenant_id, consumer_id)

    def work(i: int) -> str:
        with factory() as session:
            if i % 4 == 0:  # the batch, as if the clock were 5 days ahead: half the lots are due
                use_scope(session, system_scope(tenant_id))
                expire_batch(session, tenant_id, now=soon(5), limit=3)
                session.commit()
                return "batch"
            use_scope(session, scope)
            points.spend(session, tenant_id=tenant_id, consumer_id=consumer_id, points=9,
                         order_id=None, source_key=f"race:{uuid.uuid4()}")
            session.commit()
            return "spent"

    parallel(THREADS, work)
    member, lots, spent = state(factory, tenant_id, consumer_id)
    available = sum(lot.remaining for lot in lots if lot.status is LotStatus.available)
    expired = sum(lot.expired_points for lot in lots)
    assert member.points_available == available >= 0
    assert spent + expired + available == 100
