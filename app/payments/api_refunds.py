"""Finance's refund desk: failed and offline refund attempts, confirm, retry, pay back offline."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.paging import page_of
from app.payments import refund_desk
from app.payments.schemas import (
    PaymentRefundSchema,
    RefundAttemptQuery,
    RefundConfirmationSchema,
    RefundRetrySchema,
)

blp = Blueprint("refund_desk", __name__, url_prefix="/payments/refunds",
                description="Finance: refunds waiting for a person (failed, or paid back offline)")


@blp.route("")
class RefundAttempts(TransactionalView):
    @blp.arguments(RefundAttemptQuery, location="query")
    @blp.response(200, page_of(PaymentRefundSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Refund attempts on orders I sell; by default those a person must act on."""
        return refund_desk.list_attempts(db.session, staff_only(), **query)


@blp.route("/<uuid:payment_refund_id>/confirm")
class ConfirmOfflineRefund(TransactionalView):
    @blp.arguments(RefundConfirmationSchema)
    @blp.response(200, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, payment_refund_id):
        """We paid this refund back by bank transfer: the refund is done and journaled."""
        return refund_desk.confirm_offline(db.session, staff_only(), payment_refund_id=payment_refund_id,
                                           **body)


@blp.route("/<uuid:payment_refund_id>/retry")
class RetryRefund(TransactionalView):
    @blp.arguments(RefundRetrySchema)
    @blp.response(201, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, payment_refund_id):
        """Make a failed refund again: through the gateway, or offline (then confirm it)."""
        return refund_desk.retry(db.session, staff_only(), payment_refund_id=payment_refund_id, **body)
