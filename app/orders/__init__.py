"""Orders: one model for three flows, the state machine, fulfilment, after-sales, cart."""


def register_blueprints(api) -> None:
    """The storefront, portal and store order surfaces."""
    from app.orders.api_portal import blp as portal  # noqa: PLC0415
    from app.orders.api_store import blp as store  # noqa: PLC0415
    from app.orders.api_storefront import blp as storefront  # noqa: PLC0415

    for blueprint in (storefront, portal, store):
        api.register_blueprint(blueprint)
