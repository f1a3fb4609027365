"""The platform's event subscriptions (the audit trail) and periodic tasks (the outbox sweep)."""

from app.platform.audit import AUDITED, write_audit

EVENT_HANDLERS = {event_type: [write_audit] for event_type in AUDITED}

BEAT_SCHEDULE = {
    # picks up every relay an after-commit enqueue lost (broker down, worker killed)
    "relay-outbox": {"task": "app.platform.tasks.relay_all_outboxes", "schedule": 30.0},
    # relayed events and their receipts older than OUTBOX_RETENTION_DAYS
    "purge-relayed-events": {"task": "app.platform.tasks.purge_relayed_events", "schedule": 3600.0},
}
