"""Payment endpoints: pay an order (gateway, credit, bank transfer), credit accounts, Stripe webhooks."""

from flask import current_app, request

from app.auth.request import consumer_only, request_scope, staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders.schemas import IdempotencyHeader
from app.paging import page_of
from app.payments import credit, deposits, intents, tasks, unapplied, webhooks
from app.payments.errors import WebhooksNotConfigured
from app.payments.gateway import current_gateway
from app.payments.schemas import (
    AgedBalanceSchema,
    ApplyReceiptSchema,
    CreditAccountSchema,
    CreditEntrySchema,
    CreditLimitSchema,
    OfflineConfirmationSchema,
    PaymentSchema,
    ReceiptQuery,
    ReceiptSchema,
    RepaymentSchema,
    ReturnReceiptSchema,
    WebhookAckSchema,
)

blp = Blueprint("payments", __name__, url_prefix="/payments",
                description="Paying orders: Stripe, bank transfer, credit on account (授信)")
hooks = Blueprint("webhooks", __name__, url_prefix="/webhooks", description="Gateway webhooks")


@blp.route("/orders/<uuid:order_id>/intent")
class PaymentIntent(TransactionalView):
    @blp.response(201, PaymentSchema)
    @blp.errors(401, 403, 404, 409, 502)
    def post(self, order_id):
        """Start paying my pending order; confirm the returned client_secret with Stripe."""
        scope = request_scope()
        if not scope.is_staff:
            consumer_only()
        return intents.start_payment(db.session, scope, order_id=order_id, gateway=current_gateway())


@blp.route("/orders/<uuid:order_id>/credit")
class PayOnCredit(TransactionalView):
    @blp.response(201, PaymentSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, order_id):
        """Pay a pending purchase/replenishment order on account, within the credit limit."""
        return credit.pay_on_credit(db.session, staff_only(), order_id=order_id)


@blp.route("/orders/<uuid:order_id>/offline-confirmation")
class OfflineConfirmation(TransactionalView):
    @blp.arguments(OfflineConfirmationSchema)
    @blp.response(200, PaymentSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, order_id):
        """The seller's finance confirms a bank transfer (or an offline demo payment) arrived."""
        return credit.confirm_bank_transfer(db.session, staff_only(), order_id=order_id, **body)


@blp.route("/orders/<uuid:order_id>")
class OrderPayments(TransactionalView):
    @blp.response(200, PaymentSchema(many=True))
    @blp.errors(401, 404)
    def get(self, order_id):
        """The payments of an order I see."""
        return intents.payments_for(db.session, request_scope(), order_id=order_id)


@blp.route("/credit-accounts")
class CreditAccounts(TransactionalView):
    @blp.response(200, AgedBalanceSchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """Credit accounts in my scope with what each buyer owes, aged 0-30, 31-60, 61-90, 90+ days."""
        return credit.aged_statement(db.session, staff_only())

    @blp.arguments(CreditLimitSchema)
    @blp.response(200, CreditAccountSchema)
    @blp.errors(401, 403, 404, 422)
    def put(self, body):
        """Set the credit limit of a buyer org directly below mine."""
        return credit.set_credit_limit(db.session, staff_only(), **body)


@blp.route("/credit-accounts/<uuid:account_id>/repayments")
class Repayments(TransactionalView):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(RepaymentSchema)
    @blp.response(201, CreditEntrySchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, headers, body, account_id):
        """Record a buyer's repayment once per bank reference; it settles the oldest charges first.

        The same Idempotency-Key answers the first entry again; another transfer with a reference
        already booked on the account is 409 duplicate_repayment.
        """
        return credit.record_repayment(db.session, scope=staff_only(), account_id=account_id,
                                       idempotency_key=headers["idempotency_key"], **body)


@blp.route("/credit-accounts/<uuid:account_id>/deposit-refunds")
class DepositRefunds(TransactionalView):
    @blp.arguments(RepaymentSchema)
    @blp.response(201, CreditEntrySchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, account_id):
        """The seller's finance paid the buyer's deposit back by bank transfer (once per reference)."""
        return deposits.refund_deposit(db.session, scope=staff_only(), account_id=account_id, **body)


@blp.route("/unapplied-receipts")
class Receipts(TransactionalView):
    @blp.arguments(ReceiptQuery, location="query")
    @blp.response(200, page_of(ReceiptSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Money without a home in my scope (wrong amount, paid twice, after cancellation), oldest first."""
        return unapplied.list_receipts(db.session, scope=staff_only(), **query)


@blp.route("/unapplied-receipts/<uuid:receipt_id>/application")
class ReceiptApplication(TransactionalView):
    @blp.arguments(ApplyReceiptSchema)
    @blp.response(200, ReceiptSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, receipt_id):
        """Finance pays a pending order of the same buyer and seller with the receipt's money."""
        return unapplied.apply_receipt(db.session, scope=staff_only(), receipt_id=receipt_id, **body)


@blp.route("/unapplied-receipts/<uuid:receipt_id>/return")
class ReceiptReturn(TransactionalView):
    @blp.arguments(ReturnReceiptSchema)
    @blp.response(200, ReceiptSchema)
    @blp.errors(401, 403, 404, 409, 422, 502)
    def post(self, body, receipt_id):
        """Finance returns what is open: a gateway refund for card money, a bank transfer (reference) else."""
        return unapplied.return_receipt(db.session, scope=staff_only(), receipt_id=receipt_id,
                                        gateway=current_gateway(), **body)


@hooks.route("/stripe")
class StripeWebhook(TransactionalView):
    @hooks.public  # authenticated by the Stripe-Signature header, not by a token
    @hooks.response(200, WebhookAckSchema)
    @hooks.errors(400, 503)
    def post(self):
        """Stripe events: verified by signature, stored once by id, processed by a task."""
        config = current_app.config
        if not config.get("STRIPE_WEBHOOK_SECRET"):
            raise WebhooksNotConfigured("STRIPE_WEBHOOK_SECRET is not set.")
        event_id, duplicate, processed = webhooks.receive(
            db.session, request.get_data(), request.headers.get("Stripe-Signature"),
            secret=config["STRIPE_WEBHOOK_SECRET"],
            tolerance_seconds=int(config.get("STRIPE_WEBHOOK_TOLERANCE", 300)))
        if not processed:
            tasks.enqueue_processing(db.session, event_id)
        return {"received": True, "duplicate": duplicate}


def register(api) -> None:
    from app.payments.api_refunds import blp as refund_desk  # noqa: PLC0415

    api.register_blueprint(blp)
    api.register_blueprint(hooks)
    api.register_blueprint(refund_desk)
