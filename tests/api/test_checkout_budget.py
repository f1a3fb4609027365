"""A plain checkout stays within its budget of SQL statements (counted as bench/checkout.py counts)."""

import pytest

from app.extensions import db
from app.platform import outbox
from bench.statements import statements_sent, summary
from tests.api.test_orders_api import body, shop  # noqa: F401, F811  (the fixture)

PLAIN_CHECKOUT_BUDGET = 12  # issue 13; the ceiling endpoint (same writes, no logic) sends 12


@pytest.mark.postgres  # the count includes PostgreSQL's per-transaction scope settings
def test_a_plain_three_line_checkout_sends_at_most_its_budget_of_statements(client, shop, monkeypatch):  # noqa: F811
    """Counted in the request only: the outbox relay it enqueues runs in a worker, not here."""
    monkeypatch.setattr(outbox, "_enqueue_relay", lambda session, tenant_id: None)
    net, catalog, alice, _ = shop
    warm = client.post("/storefront/orders", headers=alice, json=body(catalog, 1, 1, 1))
    assert warm.status_code == 201, warm.get_json()  # caches filled, as in a running worker
    with statements_sent(db.engine) as sent:
        response = client.post("/storefront/orders", headers=alice, json=body(catalog, 1, 2, 3))
    assert response.status_code == 201, response.get_json()
    print(summary(sent))
    assert len(sent) <= PLAIN_CHECKOUT_BUDGET, summary(sent)
