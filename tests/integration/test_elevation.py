"""The one way to leave a scope: restored after success and after a refused write, and no row leaks
back to the narrower scope through the identity map. Runs as the app role, so RLS is in play."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import uuid7
from app.errors import NotFound
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated
from app.tenancy.models import Org, User
from app.tenancy.scope import current_scope, system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of

pytestmark = pytest.mark.postgres  # RLS and transaction settings exist only there


def setting(session, name: str) -> str | None:
    return session.scalar(text("SELECT current_setting(:n, true)"), {"n": name})


@pytest.fixture
def shop(session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "jingan")
    session.commit()
    return net, consumer


def a_user_in_a_missing_org(net) -> User:
    return User(tenant_id=net.tenant.id, id=uuid7(), org_id=uuid.uuid4(), owner_path=net.org("brand").path,
                email=f"{uuid7()}@example.com", name="Nobody", password_hash="x", role="viewer")


def test_after_the_block_the_transaction_carries_the_callers_settings_again(session, shop):
    net, consumer = shop
    mine = consumer_scope_of(session, consumer)
    assert setting(session, "app.consumer_id") == str(consumer.id)
    with elevated(session, Why.task, scope=system_scope(net.tenant.id)):
        assert setting(session, "app.org_path") == "/" and setting(session, "app.consumer_id") == ""
    assert current_scope() is mine
    assert setting(session, "app.consumer_id") == str(consumer.id) and setting(session, "app.org_path") == ""


def test_a_refused_statement_inside_the_block_surfaces_as_itself_not_as_a_failed_restore(session, shop):
    net, consumer = shop
    mine = scope_of(session, net, "jingan")
    with pytest.raises(IntegrityError), elevated(session, Why.task, scope=system_scope(net.tenant.id)):
        session.execute(text("INSERT INTO users (tenant_id, id, org_id, owner_path, email, name,"
                             " password_hash, role, active, created_at) VALUES (:t, :i, :o, '/x/', 'a@b.c',"
                             " 'n', 'h', 'viewer', true, now())"),
                        {"t": net.tenant.id, "i": uuid7(), "o": uuid.uuid4()})
    assert current_scope() is mine
    session.rollback()  # what the error handler does; the next transaction begins as the caller
    assert setting(session, "app.org_path") == net.org("jingan").path


def test_a_refused_flush_inside_the_block_surfaces_as_itself_not_as_a_pending_rollback(session, shop):
    net, consumer = shop
    mine = consumer_scope_of(session, consumer)
    with pytest.raises(IntegrityError), elevated(session, Why.task, scope=system_scope(net.tenant.id)):
        session.add(a_user_in_a_missing_org(net))
        session.flush()
    assert current_scope() is mine
    session.rollback()
    assert setting(session, "app.consumer_id") == str(consumer.id)


def test_a_domain_error_leaving_the_block_restores_the_callers_settings_at_once(session, shop):
    net, consumer = shop
    consumer_scope_of(session, consumer)
    with pytest.raises(NotFound), elevated(session, Why.task, scope=system_scope(net.tenant.id)):
        raise NotFound("nothing here")
    assert setting(session, "app.consumer_id") == str(consumer.id)  # the caller may go on


def test_a_row_loaded_under_the_wider_scope_is_not_served_to_the_caller_by_session_get(session, shop):
    net, consumer = shop
    store_key = (net.tenant.id, net.org("jingan").id)
    session.expunge_all()
    consumer_scope_of(session, consumer)
    with elevated(session, Why.read_store_shelf, scope=system_scope(net.tenant.id)):
        store = session.get(Org, store_key)
        assert store is not None and store in session
    assert store not in session and store.name  # the caller keeps what it was handed, detached
    assert session.get(Org, store_key) is None  # a consumer sees no org: RLS answers, not the map


def test_a_row_the_caller_held_before_the_block_stays_in_its_session(session, shop):
    net, consumer = shop
    scope_of(session, net, "jingan")
    own = session.get(Org, (net.tenant.id, net.org("jingan").id))
    with elevated(session, Why.task, scope=system_scope(net.tenant.id)):
        session.get(Org, (net.tenant.id, net.org("brand").id))
    assert own in session


def test_nested_blocks_of_the_same_scope_keep_their_rows_until_the_outer_block_ends(session, shop):
    net, consumer = shop
    session.expunge_all()
    consumer_scope_of(session, consumer)
    system = system_scope(net.tenant.id)
    with elevated(session, Why.reserve_seller_stock, scope=system):
        with elevated(session, Why.quote_prices, scope=system):
            brand = session.get(Org, (net.tenant.id, net.org("brand").id))
        assert brand in session
    assert brand not in session


def test_writes_made_inside_the_block_are_flushed_under_the_blocks_scope(session, shop):
    net, consumer = shop
    consumer_scope_of(session, consumer)  # a consumer's scope may not write the outbox
    with elevated(session, Why.record_order_event, scope=system_scope(net.tenant.id)):
        event = record_event(session, tenant_id=net.tenant.id, owner_path=net.org("jingan").path,
                             type="test.elevated")
    assert event not in session.new
    session.flush()  # nothing left for the consumer's scope to write


def test_elevation_names_a_reason():
    with pytest.raises(TypeError), elevated(None, "because", scope=None):
        pass
