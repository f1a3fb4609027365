"""Stock under real concurrency: 50 connections race for 10 units; exactly 10 win.

Uses its own engines on the test database (the app role, subject to RLS, with committed
transactions), builds its own tenant, and deletes everything of that tenant afterwards.
"""

import threading

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401  (every table, for the clean-up)
from app.catalog import products, stock
from app.catalog.errors import InsufficientStock
from app.catalog.models import StockLevel, StockMovement
from app.db import uuid7
from app.tenancy.models import Org
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import make_tenant, scope_of
from tests.support.committed import delete_tenant
from tests.support.scope import use_scope

pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist

BUYERS = 50
ON_HAND = 10


@pytest.fixture
def app_engine(app):
    _, _, app_url = database.test_urls()
    engine = create_engine(app_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def committed_tenant(app, app_engine):
    """A tenant with one SKU and 10 on hand at the east distributor, committed; removed after."""
    with Session(app_engine) as session:
        net = make_tenant(session)
        brand = scope_of(session, net, "brand")
        product = products.create_product(session, brand, name="Race tea")
        sku = products.create_sku(session, brand, product_id=product.id, code="RACE", name="Race")
        use_scope(session, system_scope(net.tenant.id))
        stock.add_initial(session, tenant_id=net.tenant.id, org=net.org("east"), sku_id=sku.id,
                          qty=ON_HAND)
        session.commit()
        ids = net.tenant.id, net.org("east").id, sku.id
    set_current_scope(None)
    yield ids
    delete_tenant(ids[0])


def _reserve_one(engine, tenant_id, org_id, sku_id, barrier, outcomes) -> None:
    set_current_scope(system_scope(tenant_id))  # each thread has its own context
    with Session(engine) as session:
        try:
            org = session.get(Org, (tenant_id, org_id))
            barrier.wait(timeout=30)
            stock.reserve(session, tenant_id=tenant_id, org=org, sku_id=sku_id, qty=1,
                          order_id=uuid7())
            session.commit()
            outcomes.append("reserved")
        except InsufficientStock:
            session.rollback()
            outcomes.append("refused")
        except Exception as error:  # reported by the assertion on outcomes
            session.rollback()
            outcomes.append(repr(error))


def test_fifty_parallel_reservations_against_ten_units_reserve_exactly_ten(
        app_engine, committed_tenant):
    tenant_id, org_id, sku_id = committed_tenant
    barrier = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    threads = [threading.Thread(target=_reserve_one,
                                args=(app_engine, tenant_id, org_id, sku_id, barrier, outcomes))
               for _ in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(set(outcomes)) == ["refused", "reserved"], outcomes
    assert outcomes.count("reserved") == ON_HAND
    assert outcomes.count("refused") == BUYERS - ON_HAND

    set_current_scope(system_scope(tenant_id))
    with Session(app_engine) as session:
        level = session.scalars(select(StockLevel).where(
            StockLevel.tenant_id == tenant_id, StockLevel.org_id == org_id)).one()
        on_hand, reserved, moves = session.execute(
            select(func.sum(StockMovement.qty), func.sum(StockMovement.reserved_delta),
                   func.count()).where(StockMovement.tenant_id == tenant_id,
                                       StockMovement.org_id == org_id)).one()
    set_current_scope(None)
    assert (level.on_hand, level.reserved) == (ON_HAND, ON_HAND)
    assert (on_hand, reserved) == (level.on_hand, level.reserved)
    assert moves == 1 + ON_HAND  # the opening stock and one movement per reservation
