"""Fixtures shared by the integration tests: the Stripe stand-in and a gateway pointed at it."""

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
