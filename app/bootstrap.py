"""Wiring in one place: each domain's event subscriptions, tasks and beat entries, with dependencies.

Every domain lists what it reacts to in its `handlers.py` (`EVENT_HANDLERS`, `BEAT_SCHEDULE`);
this module is the only one that installs them. Nothing subscribes itself by being imported, so
removing a blueprint can never silently stop the journal from posting.
"""

import importlib
import inspect
from collections.abc import Callable

from celery import Celery
from flask import Flask

from app.distribution import handlers as distribution
from app.distribution import settlement_handlers as settlement  # distribution settlement
from app.finance import handlers as finance
from app.membership import handlers as membership
from app.membership import offer_handlers as membership_offers
from app.orders import handlers as orders
from app.payments import handlers as payments
from app.payments.gateway import PaymentGateway, gateway_from_config, stand_in
from app.platform import handlers as platform
from app.platform import outbox

DOMAINS = (platform, finance, payments, orders,
           membership,  # membership
           membership_offers,  # membership: coupons, the checkout waterfall, the points mall
           distribution,  # distribution
           settlement)  # distribution settlement (after the commissions it reads)
TASK_MODULES = ("app.platform.tasks", "app.orders.tasks", "app.payments.tasks",
                # finance
                "app.finance.tasks",
                # finance (finance-b)
                "app.finance.reconcile_tasks",
                # membership
                "app.membership.tasks",
                "app.membership.coupon_tasks",  # membership: coupons
                "app.distribution.tasks",  # distribution
                "app.distribution.settlement_tasks")  # distribution settlement


class AppGateway:
    """The app's payment gateway, built from its config on first use (a test's stand-in wins)."""

    def __init__(self, config: dict):
        self._config = config
        self._gateway: PaymentGateway | None = None

    def __call__(self) -> PaymentGateway:
        if (installed := stand_in()) is not None:
            return installed
        if self._gateway is None:
            self._gateway = gateway_from_config(self._config)
        return self._gateway


def bootstrap(app: Flask, celery: Celery, *, gateway: Callable[[], PaymentGateway] | None = None) -> None:
    """Install every domain's subscriptions into the outbox and its tasks and beat entries into Celery."""
    providers = {"gateway": gateway or AppGateway(app.config)}
    outbox.wire(event_handlers(providers))
    for module in TASK_MODULES:
        importlib.import_module(module)
    celery.conf.include = list(TASK_MODULES)  # the worker imports the same modules at start
    celery.conf.beat_schedule = beat_schedule()


def event_handlers(providers: dict[str, Callable[[], object]]) -> dict[str, list[tuple[str, Callable]]]:
    """event type → [(receipt key, handler with its dependencies injected)], domains in order."""
    wired: dict[str, list[tuple[str, Callable]]] = {}
    for domain in DOMAINS:
        for event_type, handlers in domain.EVENT_HANDLERS.items():
            for handler in handlers:
                wired.setdefault(event_type, []).append(
                    (outbox.receipt_key(handler), inject(handler, providers)))
    return wired


def inject(handler: Callable, providers: dict[str, Callable[[], object]]) -> Callable:
    """Bind the parameters after (session, event) by name; each is resolved when the handler runs."""
    wanted = list(inspect.signature(handler).parameters)[2:]
    missing = [name for name in wanted if name not in providers]
    if missing:
        raise TypeError(f"{outbox.receipt_key(handler)} needs {missing}, which bootstrap does not provide")
    if not wanted:
        return handler

    def run(session, event):
        return handler(session, event, **{name: providers[name]() for name in wanted})

    return run


def beat_schedule() -> dict[str, dict]:
    """Every domain's periodic tasks; a name used twice is a wiring error."""
    schedule: dict[str, dict] = {}
    for domain in DOMAINS:
        for name, entry in domain.BEAT_SCHEDULE.items():
            if name in schedule:
                raise ValueError(f"beat entry {name!r} is defined twice")
            schedule[name] = entry
    return schedule
