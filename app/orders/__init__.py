"""Orders: one model for three flows, the state machine, fulfilment, after-sales, cart."""
