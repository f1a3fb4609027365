"""A scope switch that meets a database refusal answers in the one error shape, never a 500."""

import uuid

from app.db import uuid7
from app.orders import stock_moves
from app.tenancy.models import User
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


def test_a_database_refusal_inside_an_elevated_block_answers_409_in_the_one_error_shape(
        client, session, shop, monkeypatch):  # noqa: F811
    net, catalog, _, _ = shop
    member = add_consumer(session, net, "jingan", name="陈静")
    session.commit()

    def refused_by_the_database(session, **_):  # runs inside place_in_store's elevated block
        session.add(User(tenant_id=net.tenant.id, id=uuid7(), org_id=uuid.uuid4(), owner_path="/x/",
                         email="a@b.c", name="n", password_hash="h", role="viewer"))
        session.flush()

    monkeypatch.setattr(stock_moves, "apply", refused_by_the_database)
    store = login(client, net, "jingan")
    lines = [{"sku_id": str(catalog.sku_ids[0]), "qty": 1}]
    response = client.post("/store/orders/in-store", headers=store,
                           json={"member_id": str(member.id), "lines": lines})
    assert response.status_code == 409
    assert response.get_json() == {"code": "conflict", "message": "The change conflicts with existing data."}
    monkeypatch.undo()
    again = client.post("/store/orders/in-store", headers=store,
                        json={"member_id": str(member.id), "lines": lines})
    assert again.status_code == 201, again.get_json()
