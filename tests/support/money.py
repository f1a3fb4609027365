"""Committed money worlds for concurrency tests: a tenant with stock, consumers, the Stripe stand-in,
paid orders, app-role sessions per thread, and a parallel runner with a start barrier."""

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.errors import DomainError
from app.orders.models import Order
from app.payments import intents
from app.payments.gateway import use_gateway
from app.payments.stripe_gateway import StripeGateway
from app.platform.outbox import relay_pending
from app.tenancy.scope import Scope, system_scope
from tests import database
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import retail_order, stocked_catalog
from tests.support.committed import delete_tenant
from tests.support.scope import use_scope
from tests.support.stripe_standin import RunningStandIn


@dataclass
class World:
    """What the threads need: ids and scopes (plain values), the gateway, a session factory."""

    tenant_id: uuid.UUID
    store: Scope
    consumers: list[Scope]
    gateway: StripeGateway
    standin: RunningStandIn
    factory: sessionmaker
    counts: Counter = field(default_factory=Counter)

    def session(self, scope: Scope) -> Session:
        """An app-role session (RLS on) in `scope`; the outbox relay is run by the test, not enqueued."""
        session = self.factory()
        session.info["relay_enqueued_for"] = {self.tenant_id}
        use_scope(session, scope)
        return session

    def system(self) -> Session:
        return self.session(system_scope(self.tenant_id))

    def relay(self) -> None:
        """Relay the outbox (journal, refund claims) as the worker would; the claims' sends follow."""
        with self.system() as session:
            while relay_pending(session, tenant_id=self.tenant_id):
                session.commit()
            session.commit()


@contextmanager
def money_world(*, consumers: int = 4, settings: dict | None = None):
    """A committed tenant (brand … jingan store) with stock, consumers and a Stripe stand-in."""
    admin_url, _, app_url = database.test_urls()
    admin_engine = create_engine(admin_url, poolclass=NullPool)
    app_engine = create_engine(app_url, pool_size=24, max_overflow=8)
    with RunningStandIn() as standin, Session(admin_engine) as admin:
        net = make_tenant(admin, settings=settings)
        catalog = stocked_catalog(admin, net, skus=3, on_hand=10_000, price=999)
        people = [add_consumer(admin, net, "jingan") for _ in range(consumers)]
        store = scope_of(admin, net, "jingan")
        admin.commit()
        gateway = StripeGateway("sk_test_standin", api_base=standin.url, max_network_retries=0)
        world = World(tenant_id=net.tenant.id, store=store,
                      consumers=[consumer_scope_of(admin, person) for person in people], gateway=gateway,
                      standin=standin, factory=sessionmaker(bind=app_engine, expire_on_commit=False))
        world.catalog, world.net = catalog, net
        try:
            with use_gateway(gateway):
                yield world
        finally:
            app_engine.dispose()
            admin_engine.dispose()
            delete_tenant(net.tenant.id)


def paid_order(world: World, consumer: Scope, *qtys: int, **request) -> Order:
    """A retail order placed by the consumer and paid through the stand-in (committed)."""
    with world.session(consumer) as session:
        order = retail_order(session, consumer, world.catalog, *qtys, **request).order
        payment = intents.start_payment(session, scope=consumer, order_id=order.id, gateway=world.gateway)
        session.commit()
        pi = world.standin.state.succeed(payment.gateway_ref)
        intents.payment_succeeded(session, tenant_id=world.tenant_id, gateway=world.gateway,
                                 at_gateway=world.gateway.get_payment(pi["id"]))
        session.commit()
        world.counts["payments"] += 1
        return order


def parallel(n: int, work: Callable[[int], str]) -> Counter:
    """Run work(0..n-1) in n threads released together; count the outcomes (domain errors by code)."""
    start = threading.Barrier(n)

    def run(i: int) -> str:
        start.wait()
        try:
            return work(i)
        except DomainError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return Counter(pool.map(run, range(n)))
