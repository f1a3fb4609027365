"""Free text through HTTP: what a consumer typed comes back redacted below full fidelity, and the
database's error texts in logs carry no SQL parameters."""

import json
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from tests.api.test_orders_api import body, paid, shop  # noqa: F401  (fixture)
from tests.factories import login

NOTE = "call me on 13900139003, 衡山路 10 号"


@pytest.fixture
def noted_order(client, session, shop):  # noqa: F811
    net, catalog, alice, _ = shop
    placed = client.post("/storefront/orders", headers=alice, json=body(catalog, 2, note=NOTE))
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    paid(session, net, order["id"])
    refund = client.post(f"/storefront/orders/{order['id']}/refunds", headers=alice, json={
        "kind": "refund_only", "reason": NOTE,
        "lines": [{"line_id": order["lines"][0]["id"], "qty": 1}]})
    assert refund.status_code == 201, refund.get_json()
    return net, order["id"], alice


def test_at_masked_fidelity_notes_reasons_and_history_come_back_redacted(client, noted_order):
    net, order_id, _ = noted_order
    shanghai = login(client, net, "shanghai")
    shown = client.get(f"/portal/orders/{order_id}", headers=shanghai).get_json()
    assert shown["fidelity"] == "masked"
    assert shown["note"] == "***" and shown["refunds"][0]["reason"] == "***"
    assert all(entry["note"] in (None, "***") for entry in shown["history"])
    assert "13900139003" not in json.dumps(shown, ensure_ascii=False)
    assert "衡山路" not in json.dumps(shown, ensure_ascii=False)
    refunds = client.get("/portal/refunds", headers=shanghai).get_json()["items"]
    assert [refund["reason"] for refund in refunds] == ["***"]


def test_the_seller_and_the_consumer_read_the_text_in_full(client, noted_order):
    net, order_id, alice = noted_order
    seller = client.get(f"/store/orders/{order_id}", headers=login(client, net, "jingan")).get_json()
    assert seller["fidelity"] == "full" and seller["note"] == NOTE
    own = client.get(f"/storefront/orders/{order_id}", headers=alice).get_json()
    assert own["note"] == NOTE and own["refunds"][0]["reason"] == NOTE


@pytest.mark.postgres  # SQLite answers 1 / 0 with NULL, not an error
def test_database_errors_carry_no_sql_parameters(app, session, caplog):
    assert db.engine.hide_parameters
    with pytest.raises(DBAPIError) as error, session.begin_nested():
        session.execute(text("SELECT CAST(:phone AS text), 1 / 0"), {"phone": "13900139003"})
    assert "SQL parameters hidden" in str(error.value)
    assert "13900139003" not in str(error.value)


def test_a_refused_write_is_logged_without_the_rows_values(client, session, app, caplog, shop):  # noqa: F811
    net, _, _, _ = shop
    headers = login(client, net, "brand")
    new_user = {"email": "dup@example.com", "name": "Dup", "password": "long-enough-pass", "role": "viewer"}
    org = net.org("jingan").id
    assert client.post(f"/network/orgs/{org}/users", headers=headers, json=new_user).status_code == 201
    with caplog.at_level(logging.INFO):
        client.post(f"/network/orgs/{org}/users", headers=headers, json=new_user)
    assert "dup@example.com" not in caplog.text
