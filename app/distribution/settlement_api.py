"""Statements (结算单), settlement runs and withdrawals: portal, finance and the promoter's own."""

from app.auth.request import request_scope, staff_only
from app.blueprint import Blueprint, TransactionalView
from app.distribution import payouts, statement_queries, statements, withdrawals
from app.distribution.settlement_models import Statement
from app.distribution.settlement_schemas import (
    DistributionPayoutSchema,
    DistributionStatementDetailSchema,
    DistributionStatementQuery,
    DistributionStatementSchema,
    OfflinePayoutSchema,
    SettlementRunSchema,
)
from app.extensions import db
from app.paging import page_of

blp = Blueprint("settlement", __name__, url_prefix="/distribution",
                description="Statements per beneficiary and period, payouts, withdrawals (结算, 提现)")


@blp.route("/statements")
class Statements(TransactionalView):
    @blp.arguments(DistributionStatementQuery, location="query")
    @blp.response(200, page_of(DistributionStatementSchema))
    @blp.errors(401)
    def get(self, query):
        """Statements I see, newest first: the brand's finance all; others their subtree's at their
        commissions fidelity; a promoter their own."""
        return statement_queries.list_statements(db.session, request_scope(), **query)


@blp.route("/statements/<uuid:statement_id>")
class StatementDetail(TransactionalView):
    @blp.response(200, DistributionStatementDetailSchema)
    @blp.errors(401, 404)
    def get(self, statement_id):
        """One statement with its payout attempts."""
        statement, attempts = statement_queries.get_statement(db.session, request_scope(), statement_id)
        return {**{column.key: getattr(statement, column.key) for column in Statement.__table__.columns},
                "payouts": attempts}


@blp.route("/statements/<uuid:statement_id>/approve")
class ApproveStatement(TransactionalView):
    @blp.response(200, DistributionStatementSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, statement_id):
        """The brand's finance approves a pending (or reopened) statement."""
        return payouts.approve_statement(db.session, staff_only(), statement_id)


@blp.route("/statements/<uuid:statement_id>/pay")
class PayStatement(TransactionalView):
    @blp.response(202, DistributionPayoutSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, statement_id):
        """Pay an approved statement by Stripe Connect transfer; sent once this request commits."""
        return payouts.pay_statement(db.session, staff_only(), statement_id)


@blp.route("/statements/<uuid:statement_id>/pay-offline")
class PayStatementOffline(TransactionalView):
    @blp.arguments(OfflinePayoutSchema)
    @blp.response(200, DistributionPayoutSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, statement_id):
        """Record that an approved statement was paid by bank, with the bank reference."""
        return payouts.pay_offline(db.session, staff_only(), statement_id, **body)


@blp.route("/statements/<uuid:statement_id>/bank-return")
class BankReturn(TransactionalView):
    @blp.response(200, DistributionStatementSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, statement_id):
        """The bank sent an offline payout back: the statement reopens (approve and pay it again)."""
        return payouts.bank_returned(db.session, staff_only(), statement_id)


@blp.route("/settlement-runs")
class SettlementRuns(TransactionalView):
    @blp.response(201, SettlementRunSchema)
    @blp.errors(401, 403)
    def post(self):
        """Settle the last closed period now (the beat does it hourly); a re-run adds only what is new."""
        return statements.run_settlement(db.session, staff_only())


@blp.route("/withdrawals")
class Withdrawals(TransactionalView):
    @blp.response(201, DistributionStatementSchema)
    @blp.errors(401, 403, 409)
    def post(self):
        """A promoter withdraws everything available to them now (a fee applies), for approval."""
        return withdrawals.request_withdrawal(db.session, request_scope())
