"""Cross-cutting platform pieces: the outbox, event handlers, the audit trail, tasks."""
