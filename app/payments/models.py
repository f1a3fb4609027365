"""Payments at a gateway, the refunds we executed, stored webhook events, credit on account."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    JsonType,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    str_enum,
    utcnow,
)
from app.orders.models import OrderScopeMixin
from app.tenancy.models import tenant_fk


class PaymentStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    amount_mismatch = "amount_mismatch"  # money arrived that does not match the order: finance looks
    refunded = "refunded"  # paid twice or after cancellation: returned automatically


class RefundExecutionStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class RefundChannel(StrEnum):
    gateway = "gateway"  # asked of the gateway that took the money
    offline = "offline"  # paid back by bank transfer; pending until finance confirms a reference
    credit = "credit"  # a credit note on account


class RefundReason(StrEnum):
    order_refund = "order_refund"
    duplicate_payment = "duplicate_payment"
    order_cancelled = "order_cancelled"


class Payment(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """One attempt to pay one order at a gateway (a PaymentIntent, a bank transfer, credit)."""

    __tablename__ = "payments"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        UniqueConstraint("tenant_id", "gateway", "gateway_ref"),
        Index("ix_payments_order", "tenant_id", "order_id"),
        CheckConstraint("amount_minor > 0 AND refunded_minor >= 0", name="amounts_sane"),
        CheckConstraint("refund_reserved_minor >= 0 AND refund_reserved_minor <= received_minor",
                        name="reserve_sane"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    gateway: Mapped[str] = mapped_column(String(20))  # stripe | offline | credit
    gateway_ref: Mapped[str] = mapped_column(String(255))
    charge_ref: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    received_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Refund attempts not failed (pending or succeeded): reserved before any gateway call.
    refund_reserved_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    client_secret: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(255))  # bank reference of an offline payment
    failure_message: Mapped[str | None] = mapped_column(String(500))
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PaymentRefund(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """Money we returned (or are returning) through the gateway; one per idempotency key."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        tenant_fk(["payment_id"], "payments"),
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["refund_id"], "refunds"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_payment_refunds_gateway_ref", "tenant_id", "gateway_ref"),
        Index("ix_payment_refunds_open", "tenant_id", "status", "created_at"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the after-sales refund, if any
    reason: Mapped[RefundReason] = mapped_column(str_enum(RefundReason))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    gateway_ref: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RefundExecutionStatus] = mapped_column(str_enum(RefundExecutionStatus))
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    channel: Mapped[RefundChannel] = mapped_column(str_enum(RefundChannel), default=RefundChannel.gateway)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # gateway calls that got no answer
    last_error: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(255))  # bank reference of an offline refund
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class WebhookEvent(Base):
    """A gateway event as delivered, stored once by its id; the tenant is filled in once known.

    Platform-level: the receiver does not know the tenant before it reads the event, so the
    policy lets the platform scope in, and a tenant its own events.
    """

    __tablename__ = "webhook_events"
    __rls__ = "platform"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    account: Mapped[str | None] = mapped_column(String(255))  # Connect events carry the account
    payload: Mapped[dict] = mapped_column(JsonType)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class GatewayPayout(Base):
    """A payout from the platform's gateway balance to a bank; it may fail after 'paid'."""

    __tablename__ = "gateway_payouts"
    __rls__ = "platform"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    account: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    failure_code: Mapped[str | None] = mapped_column(String(100))
    arrival_date: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CreditEntryKind(StrEnum):
    charge = "charge"  # an order paid on credit
    repayment = "repayment"
    credit_note = "credit_note"  # a refund of an order paid on credit


class CreditAccount(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """Credit on account (授信) a seller grants one buyer org; owned by the buyer, so both see it."""

    __tablename__ = "credit_accounts"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["seller_org_id"], "orgs"),
        tenant_fk(["buyer_org_id"], "orgs"),
        UniqueConstraint("tenant_id", "seller_org_id", "buyer_org_id"),
        CheckConstraint("limit_minor >= 0 AND used_minor >= 0", name="amounts_sane"),
    )

    seller_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    currency: Mapped[str] = mapped_column(String(3))
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    used_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CreditEntry(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A charge, repayment or credit note on a credit account; charges keep what is still owed."""

    __tablename__ = "credit_entries"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["account_id"], "credit_accounts"),
        tenant_fk(["order_id"], "orders"),
        Index("ix_credit_entries_account", "tenant_id", "account_id", "created_at"),
        CheckConstraint("amount_minor > 0 AND outstanding_minor >= 0"
                        " AND outstanding_minor <= amount_minor", name="amounts_sane"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[CreditEntryKind] = mapped_column(str_enum(CreditEntryKind))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
