"""The two walls agree: for every policy kind, app.tenancy.filters.visible picks exactly the rows RLS
lets through, for staff at every level, a consumer, the system, the platform and a login look-up.

RLS side: a bare SELECT as the app role under the scope's settings. Filter side: the same SELECT
with `visible(model, scope)`, run where RLS hides nothing of the two tenants (their system scopes
and the platform scope). The tenant policy is `full` everywhere, so fidelity (carve-outs for
`none`/`aggregate`) is out of the picture: this test is about the shape of each kind.
"""

import pytest
from sqlalchemy import select, text

import app.models  # noqa: F401  (registers every model)
from app.db import Base, uuid7
from app.payments.models import WebhookEvent
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import rls_kind, visible
from app.tenancy.models import Grant
from app.tenancy.resolve import consumer_scope
from app.tenancy.scope import PLATFORM_SCOPE, system_scope, tenant_lookup_scope
from tests.factories import add_consumer, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog, supply_order
from tests.support.payments import approve_refund, make_order
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres  # RLS and transaction settings exist only there

ALL_FULL = {"data_sharing": {dataset.value: Fidelity.full.value for dataset in Dataset}}
STAFF = ["brand", "east", "shanghai", "jingan", "hangzhou", "west", "chengdu"]
KINDS = {"tenant_self", "tenant", "org_tree", "downward", "grants", "orders", "subtree", "platform"}


def models_behind_rls(session) -> list[type]:
    protected = set(session.scalars(text(
        "SELECT relname FROM pg_class WHERE relrowsecurity AND relnamespace = 'public'::regnamespace")))
    return sorted((mapper.class_ for mapper in Base.registry.mappers
                   if mapper.class_.__tablename__ in protected), key=lambda m: m.__tablename__)


def populate(session, net, *, member_store="jingan"):
    """Catalog, prices, stock, consumers, orders of all three flows, a payment, a refund, a grant."""
    catalog = stocked_catalog(session, net)
    member = add_consumer(session, net, member_store, openid=f"openid-{uuid7().hex}")
    other = add_consumer(session, net, "chengdu")
    use_scope(session, consumer_scope(net.tenant.id, member.id))
    retail_order(session, consumer_scope(net.tenant.id, member.id), catalog, 1)
    supply_order(session, scope_of(session, net, "jingan"), catalog, 2)  # jingan buys from shanghai
    supply_order(session, scope_of(session, net, "shanghai"), catalog, 1)  # shanghai from east
    make_order(session, net, seller="west", buyer="hangzhou")  # bought before hangzhou moved to east
    sold = make_order(session, net, seller="chengdu", consumer=other)
    pay(session, sold)
    approve_refund(session, sold, 1000)
    use_scope(session, system_scope(net.tenant.id))
    shanghai, west = net.org("shanghai"), net.org("west")
    session.add(Grant(tenant_id=net.tenant.id, id=uuid7(), owner_path=shanghai.path,
                      grantor_org_id=shanghai.id, grantee_org_id=west.id, grantee_path=west.path,
                      dataset=Dataset.orders, fidelity=Fidelity.full))
    session.add(WebhookEvent(id=f"evt_{uuid7().hex}", type="test", tenant_id=net.tenant.id, payload={}))
    session.flush()
    return member


@pytest.fixture(scope="module")
def world(module_seed):
    """Two populated tenants, built once for the module (each case runs in a savepoint)."""
    return module_seed(_build_world)


def _build_world(session):
    mine, theirs = make_tenant(session, settings=ALL_FULL), make_tenant(session, settings=ALL_FULL)
    member = populate(session, mine)
    populate(session, theirs, member_store="chengdu")
    use_scope(session, PLATFORM_SCOPE)
    session.add(WebhookEvent(id=f"evt_{uuid7().hex}", type="test", tenant_id=None, payload={}))
    session.flush()
    return mine, theirs, member


def the_scope(session, world, who):
    mine, _, member = world
    if who in STAFF:
        return scope_of(session, mine, who)
    return {"consumer": consumer_scope(mine.tenant.id, member.id), "system": system_scope(mine.tenant.id),
            "platform": PLATFORM_SCOPE, "login": tenant_lookup_scope(mine.slug)}[who]


def keys(session, statement) -> set[tuple]:
    return {tuple(row) for row in session.execute(statement)}


def test_every_policy_kind_in_the_database_is_one_the_filter_knows(session):
    assert {rls_kind(model) for model in models_behind_rls(session)} == KINDS


@pytest.mark.parametrize("who", [*STAFF, "consumer", "system", "platform", "login"])
def test_the_application_filter_and_rls_return_the_same_rows_for_every_kind(session, world, who):
    mine, theirs, _ = world
    scope = the_scope(session, world, who)
    everywhere = [system_scope(mine.tenant.id), system_scope(theirs.tenant.id), PLATFORM_SCOPE]
    disagreements, seen = {}, 0
    for model in models_behind_rls(session):
        key = [*model.__table__.primary_key.columns]
        use_scope(session, scope)
        by_rls = keys(session, select(*key))
        by_filter = set()
        for wide in everywhere:
            use_scope(session, wide)
            by_filter |= keys(session, select(*key).where(visible(model, scope)))
        seen += len(by_rls)
        if by_rls != by_filter:
            disagreements[model.__tablename__] = (rls_kind(model), f"RLS only {len(by_rls - by_filter)}",
                                                  f"filter only {len(by_filter - by_rls)}")
    assert not disagreements, disagreements
    assert seen > 0
