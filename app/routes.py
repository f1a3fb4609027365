"""Every blueprint, registered on the Api in one place."""

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask, api: Api) -> None:
    from app.auth.api import blp as auth
    from app.platform.health import blp as health
    from app.tenancy.api import blp as network

    for blueprint in (health, auth, network):
        api.register_blueprint(blueprint)
    __import__("app.orders").orders.register_blueprints(api)  # storefront, portal and store orders
    __import__("app.catalog.api").catalog.api.register(api)  # catalog, prices, stock, storefront shelf
    __import__("app.payments.api").payments.api.register(api)  # paying orders, credit, Stripe webhooks
    api.register_blueprint(__import__("app.finance.api").finance.api.blp)  # journal balances, entries
    api.register_blueprint(__import__("app.platform.api").platform.api.blp)  # dead letters, retry
    __import__("app.tenancy.api_platform").tenancy.api_platform.register(api)  # platform operators
    # house
    __import__("app.platform.metrics_api").platform.metrics_api.register(api)  # Prometheus, METRICS_TOKEN
    # finance
    api.register_blueprint(__import__("app.finance.api_exports").finance.api_exports.blp)  # exports
    # finance controls and queues (finance-b)
    api.register_blueprint(__import__("app.finance.api_controls").finance.api_controls.blp)
    api.register_blueprint(__import__("app.finance.api_queues").finance.api_queues.blp)
    __import__("app.membership.api_admin").membership.api_admin.register(api)  # membership
    __import__("app.distribution.api_staff").distribution.api_staff.register(api)  # distribution
    # distribution settlement
    api.register_blueprint(__import__("app.distribution.settlement_api").distribution.settlement_api.blp)
    # membership: coupons, the checkout quote, the points mall
    __import__("app.membership.api_offers").membership.api_offers.register(api)
