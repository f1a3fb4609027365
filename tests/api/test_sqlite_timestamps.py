"""The demo database (SQLite) answers timestamps like PostgreSQL: every one with its UTC offset."""

import re

import pytest
from flask_migrate import upgrade

from app.extensions import db
from tests.factories import login, make_tenant
from tests.support.apps import fresh_app
from tests.support.payments import make_order

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def timestamps(body) -> list[str]:
    """Every ISO timestamp string anywhere in a JSON body."""
    if isinstance(body, dict):
        return [found for value in body.values() for found in timestamps(value)]
    if isinstance(body, list):
        return [found for value in body for found in timestamps(value)]
    return [body] if isinstance(body, str) and TIMESTAMP.match(body) else []


@pytest.fixture
def sqlite_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with fresh_app(SQLALCHEMY_DATABASE_URI=url, MIGRATIONS_DATABASE_URL=url, TIERMALL_ENV="demo",
                   SECRET_KEY="s" * 48, CONSUMER_LOGIN_PROVIDER="dev") as app, app.app_context():
        upgrade(revision="heads")
        yield app
        db.session.remove()


def test_on_sqlite_credit_accounts_with_a_credit_charge_answer_200_and_every_timestamp_is_utc(sqlite_app):
    session = db.session
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=4_000)
    session.commit()
    client = sqlite_app.test_client()
    seller, buyer = login(client, net, "shanghai"), login(client, net, "jingan")

    limit = client.put("/payments/credit-accounts", headers=seller,
                       json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    assert limit.status_code == 200, limit.get_json()
    paid = client.post(f"/payments/orders/{order.id}/credit", headers=buyer)
    assert paid.status_code == 201, paid.get_json()
    aged = client.get("/payments/credit-accounts", headers=buyer)
    assert aged.status_code == 200, aged.get_json()
    assert aged.get_json()[0]["buckets"]["0-30"] == 4_000
    detail = client.get(f"/portal/orders/{order.id}", headers=seller)
    assert detail.status_code == 200, detail.get_json()

    seen = timestamps([limit.get_json(), paid.get_json(), aged.get_json(), detail.get_json()])
    assert len(seen) >= 4
    assert [moment for moment in seen if not moment.endswith("+00:00")] == []
