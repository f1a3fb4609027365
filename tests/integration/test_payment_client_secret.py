"""The client_secret completes a payment: it goes to the payer only, not to whoever sees the order."""

from app.payments import intents
from tests.factories import consumer_scope_of, scope_of
from tests.integration.test_payments_retail import _start, shop  # noqa: F401


def test_only_the_paying_consumer_reads_the_client_secret_of_their_payment(session, shop, gateway):  # noqa: F811
    net, consumer, order = shop
    secret = _start(session, consumer, order, gateway).client_secret
    assert secret
    mine = intents.payments_for(session, consumer_scope_of(session, consumer), order_id=order.id)
    assert [row["client_secret"] for row in mine] == [secret]
    for org in ("jingan", "shanghai", "brand"):
        seen = intents.payments_for(session, scope_of(session, net, org), order_id=order.id)
        assert [row["client_secret"] for row in seen] == [None], org
        assert seen[0]["amount_minor"] == mine[0]["amount_minor"]
