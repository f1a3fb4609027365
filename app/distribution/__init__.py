"""Distribution (分销): promoters, bindings, commission plans, snapshots and the entries ledger."""
