"""Finance's work queues, one surface: counts, each queue's items, and the action each item needs.

The actions are the existing services (unapplied receipts, the refund desk, bank transfers,
dead letters), reached from here too so that finance works every queue in one place.
"""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.finance import queues
from app.finance.control_schemas import DisputeSchema, QueueCountSchema
from app.orders.schemas import OrderSummaryOut
from app.paging import PageQuery, page_of
from app.payments import credit, refund_desk, unapplied
from app.payments.gateway import current_gateway
from app.payments.schemas import (
    ApplyReceiptSchema,
    OfflineConfirmationSchema,
    PaymentRefundSchema,
    PaymentSchema,
    ReceiptSchema,
    RefundConfirmationSchema,
    RefundRetrySchema,
    ReturnReceiptSchema,
)
from app.platform import deadletters
from app.platform.schemas import DeadLetterSchema

blp = Blueprint("finance_queues", __name__, url_prefix="/finance/queues",
                description="Finance work queues: money and events waiting for a person")


@blp.route("")
class Counts(TransactionalView):
    @blp.response(200, QueueCountSchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """How much waits in each queue (null: a queue that is not mine)."""
        return queues.counts(db.session, staff_only())


@blp.route("/unapplied-receipts")
class UnappliedReceipts(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(ReceiptSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Money without a home, oldest first: apply it to an order or return it."""
        return queues.unapplied_receipts(db.session, staff_only(), **query)


@blp.route("/unapplied-receipts/<uuid:receipt_id>/application")
class ApplyReceipt(TransactionalView):
    @blp.arguments(ApplyReceiptSchema)
    @blp.response(200, ReceiptSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, receipt_id):
        """Pay a pending order of the same buyer and seller with the receipt's money."""
        return unapplied.apply_receipt(db.session, scope=staff_only(), receipt_id=receipt_id, **body)


@blp.route("/unapplied-receipts/<uuid:receipt_id>/return")
class ReturnReceipt(TransactionalView):
    @blp.arguments(ReturnReceiptSchema)
    @blp.response(200, ReceiptSchema)
    @blp.errors(401, 403, 404, 409, 422, 502)
    def post(self, body, receipt_id):
        """Return what is open: through the gateway for card money, by bank transfer otherwise."""
        return unapplied.return_receipt(db.session, scope=staff_only(), receipt_id=receipt_id,
                                        gateway=current_gateway(), **body)


@blp.route("/failed-refunds")
class FailedRefunds(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(PaymentRefundSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Refunds the gateway refused and nobody made again, newest first."""
        return queues.failed_refunds(db.session, staff_only(), **query)


@blp.route("/failed-refunds/<uuid:payment_refund_id>/retry")
class RetryRefund(TransactionalView):
    @blp.arguments(RefundRetrySchema)
    @blp.response(201, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, payment_refund_id):
        """Make the refund again: through the gateway, or offline (then confirm it)."""
        return refund_desk.retry(db.session, staff_only(), payment_refund_id=payment_refund_id, **body)


@blp.route("/offline-refunds")
class OfflineRefunds(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(PaymentRefundSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Refunds to pay back by bank transfer, newest first."""
        return queues.offline_refunds(db.session, staff_only(), **query)


@blp.route("/offline-refunds/<uuid:payment_refund_id>/confirm")
class ConfirmOfflineRefund(TransactionalView):
    @blp.arguments(RefundConfirmationSchema)
    @blp.response(200, PaymentRefundSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, payment_refund_id):
        """We paid it back by bank transfer (its reference): the refund is done and journaled."""
        return refund_desk.confirm_offline(db.session, staff_only(), payment_refund_id=payment_refund_id,
                                           **body)


@blp.route("/late-transfers")
class LateTransfers(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(OrderSummaryOut))
    @blp.errors(401, 403)
    def get(self, query):
        """Orders to be paid by bank transfer, unpaid after settings.finance.transfer_late_days (3)."""
        return queues.late_transfers(db.session, staff_only(), **query)


@blp.route("/late-transfers/<uuid:order_id>/confirmation")
class ConfirmTransfer(TransactionalView):
    @blp.arguments(OfflineConfirmationSchema)
    @blp.response(200, PaymentSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, order_id):
        """The transfer arrived (its bank reference): the order is paid."""
        return credit.confirm_bank_transfer(db.session, staff_only(), order_id=order_id, **body)


@blp.route("/disputes")
class Disputes(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(DisputeSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Open disputes, oldest first: the gateway holds the funds until they close."""
        return queues.disputes(db.session, staff_only(), **query)


@blp.route("/dead-letters")
class DeadLetters(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(DeadLetterSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Events whose handlers failed every attempt, oldest first (the brand's finance)."""
        return queues.dead_letters(db.session, staff_only(), **query)


@blp.route("/dead-letters/<uuid:event_id>/retry")
class RetryDeadLetter(TransactionalView):
    @blp.response(200, DeadLetterSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, event_id):
        """Give a dead event fresh attempts; the relay runs it after the commit (audited)."""
        return deadletters.retry_dead_letter(db.session, staff_only(), event_id=event_id)
