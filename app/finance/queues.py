"""Finance's work queues: everything where money or an event waits for a person, in one place.

Each queue is the list an existing service already keeps (no copies of their rules):
- unapplied receipts: `payments.unapplied.list_receipts` (open ones);
- failed refunds and offline refunds to pay: `payments.refund_desk.list_attempts` (needs_action),
  split by status: failed (and not yet made again) / pending offline (waiting for a bank transfer);
- late bank transfers: B2B orders to pay by bank transfer still unpaid after
  `settings.finance.transfer_late_days` (3); money that arrives after the order was cancelled is
  an unapplied receipt (reason order_cancelled), never dropped;
- disputes: open chargebacks, the funds held by the gateway;
- dead letters: `platform.deadletters.list_dead_letters` (the brand's finance; retried there).
Counts are of the first QUEUE_CAP rows (`more` says there are more).
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Forbidden
from app.orders.models import Order, OrderStatus, PaymentMethod
from app.orders.queries import order_visible
from app.paging import CursorKey, Page, paginate
from app.payments import refund_desk, unapplied
from app.payments.models import DisputeStatus, PaymentDispute, PaymentRefund, RefundExecutionStatus
from app.platform import deadletters
from app.tenancy.models import Tenant
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

QUEUE_CAP = 500
DEFAULT_LATE_DAYS = 3
QUEUES = ("unapplied_receipts", "failed_refunds", "offline_refunds", "late_transfers", "disputes",
          "dead_letters")


def unapplied_receipts(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
                       cursor: CursorKey | None = None) -> Page:
    require(scope, Action.view_finance)
    return unapplied.list_receipts(session, scope, open_only=True, limit=limit, cursor=cursor)


def _attempts(session: Session, scope: Scope, status: RefundExecutionStatus, limit: int,
              cursor: CursorKey | None) -> Page[PaymentRefund]:
    """The refund desk's "needs a person" attempts of one status."""
    return refund_desk.list_attempts(session, scope, status=refund_desk.NEEDS_A_PERSON, only=status,
                                     limit=limit, cursor=cursor)


def failed_refunds(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
                   cursor: CursorKey | None = None) -> Page[PaymentRefund]:
    """Refund attempts the gateway refused and nobody made again: retry or pay back offline."""
    return _attempts(session, scope, RefundExecutionStatus.failed, limit, cursor)


def offline_refunds(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
                    cursor: CursorKey | None = None) -> Page[PaymentRefund]:
    """Refunds to pay back by bank transfer, then confirm with the bank reference."""
    return _attempts(session, scope, RefundExecutionStatus.pending, limit, cursor)


def late_days(session: Session, scope: Scope) -> int:
    tenant = session.get(Tenant, scope.tenant_id)
    days = ((tenant.settings or {}).get("finance") or {}).get("transfer_late_days", DEFAULT_LATE_DAYS)
    return days if isinstance(days, int) and not isinstance(days, bool) and days >= 0 else DEFAULT_LATE_DAYS


def late_transfers(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
                   cursor: CursorKey | None = None) -> Page[Order]:
    """Orders I sell (or buy) to be paid by bank transfer, still unpaid after the late days, oldest first."""
    require(scope, Action.view_finance)
    cutoff = utcnow() - timedelta(days=late_days(session, scope))
    statement = select(Order).where(
        order_visible(Order, scope), Order.status == OrderStatus.pending_payment,
        Order.payment_method == PaymentMethod.offline, Order.created_at < cutoff)
    return paginate(session, statement, Order, limit=limit, cursor=cursor, newest_first=False)


def disputes(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
             cursor: CursorKey | None = None) -> Page[PaymentDispute]:
    """Open disputes on orders I see, oldest first: evidence is due at the gateway."""
    require(scope, Action.view_finance)
    statement = select(PaymentDispute).where(
        order_visible(PaymentDispute, scope), PaymentDispute.status == DisputeStatus.open)
    return paginate(session, statement, PaymentDispute, limit=limit, cursor=cursor, newest_first=False)


def dead_letters(session: Session, scope: Scope, *, limit: int = QUEUE_CAP,
                 cursor: CursorKey | None = None) -> Page:
    return deadletters.list_dead_letters(session, scope, limit=limit, cursor=cursor)


@dataclass(frozen=True)
class QueueCount:
    queue: str
    count: int | None  # None: this caller does not work that queue (dead letters are the brand's)
    more: bool = False


LISTS = {"unapplied_receipts": unapplied_receipts, "failed_refunds": failed_refunds,
         "offline_refunds": offline_refunds, "late_transfers": late_transfers, "disputes": disputes,
         "dead_letters": dead_letters}


def counts(session: Session, scope: Scope) -> list[QueueCount]:
    """How much waits in each queue I work, so that nothing sits unseen."""
    require(scope, Action.view_finance)
    found = []
    for queue in QUEUES:
        try:
            page = LISTS[queue](session, scope, limit=QUEUE_CAP)
        except Forbidden:
            found.append(QueueCount(queue, None))
            continue
        found.append(QueueCount(queue, len(page.items), page.has_more))
    return found
