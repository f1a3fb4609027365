"""Orders' event subscriptions (none yet) and periodic tasks: the order timeouts."""

EVENT_HANDLERS: dict = {}

BEAT_SCHEDULE = {
    "orders-cancel-unpaid": {"task": "app.orders.tasks.cancel_unpaid_orders", "schedule": 60.0},
    "orders-complete-shipped": {"task": "app.orders.tasks.complete_shipped_orders", "schedule": 3600.0},
}
