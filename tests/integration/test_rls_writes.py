"""The database wall for writes: raw SQL as the app role with a store's or a consumer's settings.

Reads and writes have their own policies: a store reads its ancestors (the brand org, the
catalog, price lists) but writes only inside its own subtree; tenant ids and paths change
only in the system scope. An UPDATE or DELETE the write policy excludes touches no row; an
INSERT or a change that would place a row outside the wall is refused with 42501.
"""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.auth.models import RefreshToken
from app.catalog import pricing, products
from app.catalog.models import PriceChannel
from app.db import utcnow, uuid7
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_rls import RLS_VIOLATION, count, refused
from tests.support.payments import make_order
from tests.support.scope import use_scope

INSERT_GRANT = (
    "INSERT INTO grants (tenant_id, id, owner_path, created_at, updated_at, grantor_org_id,"
    " grantee_org_id, grantee_path, dataset, fidelity)"
    " VALUES (:t, gen_random_uuid(), :p, now(), now(), :g, :e, :ep, :d, :f)")


def changed(session, sql: str, **params) -> int:
    """Run `sql` in a savepoint and return how many rows it touched."""
    with session.begin_nested():
        return session.execute(text(sql), params).rowcount


@pytest.fixture
def net(session):
    net = make_tenant(session)
    brand = scope_of(session, net, "brand")
    product = products.create_product(session, brand, name="Longjing", attributes={})
    net.sku = products.create_sku(session, brand, product_id=product.id, code="LJ-1", name="LJ 250 g")
    pricing.set_band(session, brand, sku_id=net.sku.id, channel=PriceChannel.supply,
                     floor_minor=5000, ceiling_minor=20000)
    for buyer in ("east", "shanghai", "west"):
        pricing.set_price(session, brand, seller_org_id=net.org("brand").id, sku_id=net.sku.id,
                          channel=PriceChannel.supply, amount_minor=9000,
                          buyer_org_id=net.org(buyer).id)
    pricing.set_price(session, scope_of(session, net, "shanghai"),
                      seller_org_id=net.org("shanghai").id, sku_id=net.sku.id,
                      channel=PriceChannel.supply, amount_minor=12000)
    use_scope(session, system_scope(net.tenant.id))
    session.add(RefreshToken(tenant_id=net.tenant.id, family_id=uuid7(),
                             user_id=net.users["brand"].id, token_hash="f" * 64,
                             expires_at=utcnow() + timedelta(days=1), revoked_at=utcnow()))
    session.flush()
    return net


def brand_row(session, net, column: str):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalar(text(f"SELECT {column} FROM orgs WHERE id = :i"), {"i": net.org("brand").id})


# --- a store's settings ------------------------------------------------------------------------

def test_a_store_can_neither_rename_nor_deactivate_the_brand_org_but_renames_itself(session, net):
    scope_of(session, net, "jingan")
    brand = net.org("brand").id
    assert changed(session, "UPDATE orgs SET name = 'pwned' WHERE id = :i", i=brand) == 0
    assert changed(session, "UPDATE orgs SET active = false WHERE id = :i", i=brand) == 0
    assert changed(session, "DELETE FROM orgs WHERE id = :i", i=brand) == 0
    assert changed(session, "UPDATE orgs SET name = 'Jing''an 2' WHERE id = :i",
                   i=net.org("jingan").id) == 1
    assert brand_row(session, net, "name") == net.org("brand").name
    assert brand_row(session, net, "active") is True


def test_a_store_cannot_zero_the_brands_price_band_nor_delete_ancestor_prices(session, net):
    scope_of(session, net, "jingan")
    assert count(session, "price_bands") == 1  # it reads the band (prices flow down) ...
    assert changed(session, "UPDATE price_bands SET floor_minor = 0, ceiling_minor = 0") == 0
    assert count(session, "price_entries") == 1  # Shanghai's list price for its stores
    assert changed(session, "DELETE FROM price_entries") == 0  # ... and writes none of them
    use_scope(session, system_scope(net.tenant.id))
    assert count(session, "price_bands", "floor_minor = 5000") == 1
    assert count(session, "price_entries") == 4


def test_a_price_for_one_buyer_is_seen_by_it_and_above_but_not_below_nor_written_by_it(session, net):
    for org, seen in (("brand", 4), ("east", 3), ("shanghai", 2), ("jingan", 1), ("west", 1),
                      ("chengdu", 0)):
        scope_of(session, net, org)
        assert count(session, "price_entries") == seen, org
    scope_of(session, net, "shanghai")
    assert count(session, "price_entries", "buyer_org_id = :b", b=net.org("shanghai").id) == 1
    assert changed(session, "UPDATE price_entries SET amount_minor = 1 WHERE buyer_org_id = :b",
                   b=net.org("shanghai").id) == 0
    assert changed(session, "UPDATE price_entries SET amount_minor = 11000 WHERE buyer_org_id IS NULL"
                   ) == 1


def test_a_store_cannot_insert_a_price_for_the_brand_but_may_for_itself(session, net):
    scope_of(session, net, "jingan")
    insert = ("INSERT INTO price_entries (tenant_id, id, owner_path, created_at, seller_org_id,"
              " sku_id, channel, amount_minor, effective_from)"
              " VALUES (:t, gen_random_uuid(), :p, now(), :s, :k, 'supply', 1, now())")
    assert refused(session, insert, t=net.tenant.id, p=net.org("brand").path,
                   s=net.org("brand").id, k=net.sku.id) == RLS_VIOLATION
    with session.begin_nested():
        session.execute(text(insert), {"t": net.tenant.id, "p": net.org("jingan").path,
                                       "s": net.org("jingan").id, "k": net.sku.id})


def test_only_the_brand_writes_the_tenant_wide_catalog(session, net):
    scope_of(session, net, "east")
    assert count(session, "skus") == 1
    assert changed(session, "UPDATE skus SET name = 'x'") == 0
    assert changed(session, "DELETE FROM products") == 0
    for path in (net.org("brand").path, net.org("east").path):
        assert refused(session, "INSERT INTO categories (tenant_id, id, owner_path, created_at, name,"
                       " tree_path, sort_order) VALUES (:t, gen_random_uuid(), :p, now(), 'x', :p, 0)",
                       t=net.tenant.id, p=path) == RLS_VIOLATION
    scope_of(session, net, "brand")
    assert changed(session, "UPDATE skus SET name = 'Longjing 250 g (new)'") == 1


def test_a_store_cannot_insert_a_grant_from_the_brand_to_itself_or_anyone(session, net):
    scope_of(session, net, "jingan")
    brand, jingan = net.org("brand"), net.org("jingan")
    assert refused(session, INSERT_GRANT, t=net.tenant.id, p=brand.path, g=brand.id, e=brand.id,
                   ep=brand.path, d="orders", f="full") == RLS_VIOLATION
    assert refused(session, INSERT_GRANT, t=net.tenant.id, p=brand.path, g=brand.id, e=jingan.id,
                   ep=jingan.path, d="orders", f="full") == RLS_VIOLATION


def test_a_distributor_cannot_write_the_grants_of_its_stores(session, net):
    """Grants only by the grantor: an org above it reads them but cannot change them."""
    scope_of(session, net, "jingan")
    with session.begin_nested():
        session.execute(text(INSERT_GRANT), {
            "t": net.tenant.id, "p": net.org("jingan").path, "g": net.org("jingan").id,
            "e": net.org("shanghai").id, "ep": net.org("shanghai").path, "d": "orders", "f": "none"})
    scope_of(session, net, "shanghai")
    assert count(session, "grants") == 1
    assert changed(session, "UPDATE grants SET fidelity = 'full'") == 0
    assert changed(session, "DELETE FROM grants") == 0


def test_a_store_cannot_change_the_tenants_sharing_policy(session, net):
    scope_of(session, net, "jingan")
    assert count(session, "tenants") == 1
    assert changed(session, "UPDATE tenants SET settings = :s",
                   s='{"data_sharing": {"orders": "full"}}') == 0
    scope_of(session, net, "east")
    assert changed(session, "UPDATE tenants SET name = 'x'") == 0


def test_a_store_cannot_revive_or_even_see_the_brand_owners_refresh_tokens(session, net):
    scope_of(session, net, "jingan")
    assert count(session, "refresh_tokens") == 0
    assert changed(session, "UPDATE refresh_tokens SET revoked_at = NULL WHERE user_id = :u",
                   u=net.users["brand"].id) == 0
    assert refused(session, "INSERT INTO refresh_tokens (tenant_id, id, created_at, family_id,"
                   " user_id, token_hash, expires_at) VALUES (:t, gen_random_uuid(), now(),"
                   " gen_random_uuid(), :u, :h, now() + interval '1 day')",
                   t=net.tenant.id, u=net.users["brand"].id, h="e" * 64) == RLS_VIOLATION
    use_scope(session, system_scope(net.tenant.id))
    assert count(session, "refresh_tokens", "revoked_at IS NOT NULL") == 1


def test_a_store_cannot_move_its_own_rows_out_of_its_subtree(session, net):
    scope_of(session, net, "jingan")
    consumer = add_consumer(session, net, "jingan")
    scope_of(session, net, "jingan")
    assert refused(session, "UPDATE consumers SET owner_path = :p WHERE id = :i",
                   p=net.org("chengdu").path, i=consumer.id) == RLS_VIOLATION
    assert refused(session, "UPDATE consumers SET tenant_id = gen_random_uuid() WHERE id = :i",
                   i=consumer.id) == RLS_VIOLATION


def test_a_distributor_cannot_move_a_store_under_another_parent_except_as_the_system(session, net):
    scope_of(session, net, "east")
    new_path = net.org("east").path + str(net.org("jingan").id) + "/"
    assert refused(session, "UPDATE orgs SET path = :p WHERE id = :i", p=new_path,
                   i=net.org("jingan").id) == RLS_VIOLATION
    use_scope(session, system_scope(net.tenant.id))
    assert changed(session, "UPDATE orgs SET path = :p WHERE id = :i", p=new_path,
                   i=net.org("jingan").id) == 1


def test_writes_through_a_widening_grant_are_refused(session, net):
    """West shares its members with East in full: East reads them, writes none of them."""
    chengdu_member = add_consumer(session, net, "chengdu")
    scope_of(session, net, "west")
    with session.begin_nested():
        session.execute(text(INSERT_GRANT), {
            "t": net.tenant.id, "p": net.org("west").path, "g": net.org("west").id,
            "e": net.org("east").id, "ep": net.org("east").path, "d": "consumers", "f": "full"})
    scope_of(session, net, "east")
    assert count(session, "consumers", "id = :i", i=chengdu_member.id) == 1
    assert changed(session, "UPDATE consumers SET name = 'x' WHERE id = :i", i=chengdu_member.id) == 0
    assert changed(session, "DELETE FROM consumer_identities WHERE consumer_id = :i",
                   i=chengdu_member.id) == 0


# --- a consumer's settings ---------------------------------------------------------------------

def test_a_consumer_cannot_move_their_rows_into_a_sibling_store(session, net):
    consumer = add_consumer(session, net, "jingan", openid="openid-mover")
    order = make_order(session, net, seller="jingan", consumer=consumer)
    consumer_scope_of(session, consumer)
    hangzhou = net.org("hangzhou")
    assert refused(session, "UPDATE consumers SET owner_path = :p, home_store_id = :s WHERE id = :i",
                   p=hangzhou.path, s=hangzhou.id, i=consumer.id) == RLS_VIOLATION
    assert refused(session, "UPDATE consumer_identities SET owner_path = :p WHERE consumer_id = :i",
                   p=hangzhou.path, i=consumer.id) == RLS_VIOLATION
    assert refused(session, "UPDATE orders SET owner_path = :p, seller_path = :p WHERE id = :i",
                   p=hangzhou.path, i=order.id) == RLS_VIOLATION
    assert changed(session, "UPDATE consumers SET name = '王晓明' WHERE id = :i", i=consumer.id) == 1


def test_a_consumer_cannot_hand_their_order_to_another_consumer_or_write_anothers(session, net):
    mine = add_consumer(session, net, "jingan")
    other = add_consumer(session, net, "jingan", name="李娜")
    order = make_order(session, net, seller="jingan", consumer=mine)
    theirs = make_order(session, net, seller="jingan", consumer=other)
    consumer_scope_of(session, mine)
    assert refused(session, "UPDATE orders SET buyer_consumer_id = :c WHERE id = :i",
                   c=other.id, i=order.id) == RLS_VIOLATION
    assert changed(session, "UPDATE orders SET status = 'cancelled' WHERE id = :i", i=theirs.id) == 0
    assert refused(session, INSERT_CART, t=net.tenant.id, p=net.org("jingan").path, c=other.id,
                   s=net.org("jingan").id, k=net.sku.id) == RLS_VIOLATION


INSERT_CART = ("INSERT INTO cart_items (tenant_id, id, owner_path, created_at, consumer_id, store_id,"
               " sku_id, qty) VALUES (:t, gen_random_uuid(), :p, now(), :c, :s, :k, 1)")
