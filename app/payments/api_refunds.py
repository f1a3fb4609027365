"""Finance's refund desk: failed and offline refund attempts, confirm, retry, pay back offline."""

from flask.views import MethodView

from app.auth.request import staff_only
from app.blueprint import Blueprint
from app.extensions import db
from app.payments import refund_desk
from app.payments.schemas import (
    PaymentRefundSchema,
    RefundAttemptQuery,
    RefundConfirmationSchema,
    RefundRetrySchema,
)
from app.uow import retry_lock_conflicts

blp = Blueprint("refund_desk", __name__, url_prefix="/payments/refunds",
                description="Finance: refunds waiting for a person (failed, or paid back offline)")


@blp.route("")
class RefundAttempts(MethodView):
    @blp.arguments(RefundAttemptQuery, location="query")
    @blp.response(200, PaymentRefundSchema(many=True))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Refund attempts on orders I sell; by default those a person must act on."""
        return refund_desk.list_attempts(db.session, scope=staff_only(), **query)


@blp.route("/<uuid:payment_refund_id>/confirm")
class ConfirmOfflineRefund(MethodView):
    @blp.arguments(RefundConfirmationSchema)
    @blp.response(200, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    @retry_lock_conflicts
    def post(self, body, payment_refund_id):
        """We paid this refund back by bank transfer: the refund is done and journaled."""
        row = refund_desk.confirm_offline(db.session, scope=staff_only(),
                                          payment_refund_id=payment_refund_id, **body)
        db.session.commit()
        return row


@blp.route("/<uuid:payment_refund_id>/retry")
class RetryRefund(MethodView):
    @blp.arguments(RefundRetrySchema)
    @blp.response(201, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    @retry_lock_conflicts
    def post(self, body, payment_refund_id):
        """Make a failed refund again: through the gateway, or offline (then confirm it)."""
        row = refund_desk.retry(db.session, scope=staff_only(), payment_refund_id=payment_refund_id, **body)
        db.session.commit()
        return row
