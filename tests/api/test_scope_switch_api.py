"""A scope switch that meets a database refusal answers in the one error shape, never a 500."""

from tests.api.test_auth import create_key
from tests.api.test_orders_api import shop  # noqa: F401  (fixture)
from tests.factories import add_consumer, login


def test_an_in_store_sale_with_a_store_api_key_is_placed_without_a_guide(client, session, shop):  # noqa: F811
    net, catalog, _, _ = shop
    member = add_consumer(session, net, "jingan", name="陈静")
    session.commit()
    created = create_key(client, login(client, net, "jingan"), net.org("jingan").id, role="admin")
    key = created.get_json()["key"]
    lines = [{"sku_id": str(catalog.sku_ids[0]), "qty": 1}]
    sold = client.post("/store/orders/in-store", headers={"X-Api-Key": key},
                       json={"member_id": str(member.id), "lines": lines})
    assert sold.status_code == 201, sold.get_json()
    assert sold.get_json()["guide_id"] is None
