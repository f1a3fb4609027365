"""Payments: the gateway boundary, Stripe and offline gateways, webhooks, refunds, B2B terms."""
