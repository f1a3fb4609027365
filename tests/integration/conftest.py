"""Fixtures shared by the integration tests: the Stripe stand-in and a gateway pointed at it,
the books the finance export tests read."""

import pytest

from app.payments.stripe_gateway import StripeGateway
from tests.support.stripe_standin import RunningStandIn


@pytest.fixture
def standin():
    with RunningStandIn() as running:
        yield running


@pytest.fixture
def gateway(standin):
    return StripeGateway("sk_test_standin", api_base=standin.url, max_network_retries=0)


@pytest.fixture
def books(session):
    """Paid orders at jingan (under east), hangzhou (east) and chengdu (west)."""
    from tests.factories import make_tenant  # noqa: PLC0415
    from tests.integration.test_finance_exports import paid  # noqa: PLC0415

    net = make_tenant(session)
    for seller, total in (("jingan", 12_345), ("jingan", 100), ("hangzhou", 7_000), ("chengdu", 99_999)):
        paid(session, net, seller=seller, total=total)
    return net
