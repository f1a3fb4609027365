"""Narrowing grants and defaults hold at both walls: `none` hides rows, `aggregate` only counts.

Jing'an sells retail orders; Shanghai above it sees them by the tenant default (masked) until
Jing'an grants it `orders: none`, or the brand sets the default to `none`. Then Shanghai lists
none of them and opens none (404), through the API and in raw SQL as the app role.
"""

import pytest
from sqlalchemy import text

from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.scope import system_scope
from tests.api.test_grants_api import _grant
from tests.factories import add_consumer, login, make_tenant, scope_of
from tests.integration.test_rls import count, grant
from tests.support.payments import make_order
from tests.support.scope import use_scope


@pytest.fixture
def jingan_sales(session):
    net = make_tenant(session)
    buyer = add_consumer(session, net, "jingan", phone="13900139003")
    orders = [make_order(session, net, seller="jingan", consumer=buyer) for _ in range(3)]
    hangzhou = make_order(session, net, seller="hangzhou", consumer=add_consumer(session, net, "hangzhou"))
    session.commit()
    return net, orders, hangzhou


def listed(client, headers) -> set[str]:
    response = client.get("/portal/orders", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {order["id"] for order in response.get_json()["items"]}


def test_by_default_shanghai_sees_the_orders_of_its_store_masked(client, jingan_sales):
    net, orders, _ = jingan_sales
    shanghai = login(client, net, "shanghai")
    assert listed(client, shanghai) == {str(order.id) for order in orders}
    assert client.get(f"/portal/orders/{orders[0].id}", headers=shanghai).get_json()["fidelity"] == "masked"


@pytest.mark.parametrize("narrowed_by", ["a grant from the store", "the tenant default"])
def test_a_none_narrowing_hides_the_stores_orders_from_shanghai_and_its_id_answers_404(
        client, session, jingan_sales, narrowed_by):
    net, orders, _ = jingan_sales
    if narrowed_by == "the tenant default":
        response = client.put("/network/policy", headers=login(client, net, "brand"),
                              json={"defaults": {"orders": "none"}})
    else:
        response = _grant(client, login(client, net, "jingan"), net.org("jingan"), net.org("shanghai"),
                          dataset="orders", fidelity="none")
    assert response.status_code == 200, response.get_json()
    shanghai = login(client, net, "shanghai")
    assert listed(client, shanghai) == set()
    response = client.get(f"/portal/orders/{orders[0].id}", headers=shanghai)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    jingan = login(client, net, "jingan")
    assert listed(client, jingan) == {str(order.id) for order in orders}  # its own, always


def test_a_deeper_grant_reopens_what_a_none_default_closed(client, session, jingan_sales):
    net, orders, hangzhou = jingan_sales
    client.put("/network/policy", headers=login(client, net, "brand"), json={"defaults": {"orders": "none"}})
    _grant(client, login(client, net, "jingan"), net.org("jingan"), net.org("east"),
           dataset="orders", fidelity="masked")
    assert listed(client, login(client, net, "east")) == {str(order.id) for order in orders}
    assert str(hangzhou.id) not in listed(client, login(client, net, "brand"))


# --- the database wall, raw SQL as the app role --------------------------------------------------

def narrowed(session, net, fidelity: Fidelity):
    grant(session, net, "jingan", "shanghai", fidelity, dataset=Dataset.orders)
    return scope_of(session, net, "shanghai")


@pytest.mark.postgres
@pytest.mark.parametrize("fidelity", [Fidelity.none, Fidelity.aggregate])
def test_in_sql_a_narrowed_scope_neither_reads_nor_counts_the_rows(session, jingan_sales, fidelity):
    net, orders, _ = jingan_sales
    narrowed(session, net, fidelity)
    ids = [order.id for order in orders]
    assert count(session, "orders", "id = ANY(:ids)", ids=ids) == 0
    assert session.execute(text("UPDATE orders SET note = 'x' WHERE id = ANY(:ids)"),
                           {"ids": ids}).rowcount == 0


@pytest.mark.postgres
def test_in_sql_aggregate_rows_are_counted_only_inside_a_totals_query(session, jingan_sales):
    net, orders, _ = jingan_sales
    scope = narrowed(session, net, Fidelity.aggregate)
    ids = [order.id for order in orders]
    assert count(session, "orders", "id = ANY(:ids)", ids=ids) == 0
    use_scope(session, scope.for_totals())
    assert count(session, "orders", "id = ANY(:ids)", ids=ids) == 3
    use_scope(session, system_scope(net.tenant.id))
    session.execute(text("UPDATE grants SET fidelity = 'none'"))
    use_scope(session, scope_of(session, net, "shanghai").for_totals())
    assert count(session, "orders", "id = ANY(:ids)", ids=ids) == 0


@pytest.mark.postgres
def test_in_sql_the_store_and_the_orgs_a_narrowing_does_not_reach_still_read_them(session, jingan_sales):
    net, orders, _ = jingan_sales
    narrowed(session, net, Fidelity.none)
    ids = [order.id for order in orders]
    for org in ("jingan", "east", "brand"):
        scope_of(session, net, org)
        assert count(session, "orders", "id = ANY(:ids)", ids=ids) == 3, org
