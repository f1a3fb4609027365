"""Imports every model so that the metadata (and Alembic) sees the whole schema."""

from app.auth.models import ApiKey, LoginAttempt, RefreshToken  # noqa: F401
from app.catalog import models as catalog_models  # noqa: F401
from app.distribution import models as distribution_models  # noqa: F401  # distribution

# distribution settlement
from app.distribution import settlement_models  # noqa: F401, E402
from app.finance import control_models  # noqa: F401
from app.finance import models as finance_models  # noqa: F401
from app.membership import checkout_models, coupon_models  # noqa: F401  (coupons, adjustments, mall)
from app.membership import models as membership_models  # noqa: F401
from app.orders.models import CartItem, Order, OrderHistory, OrderLine, Refund, RefundLine, Shipment  # noqa: F401
from app.payments import models as payments_models  # noqa: F401
from app.platform.models import AuditEntry, OutboxEvent, ProcessedEvent  # noqa: F401
from app.tenancy.models import Consumer, ConsumerIdentity, Grant, Org, Tenant, User  # noqa: F401
