"""Finance controls: close periods, correct entries, reconcile against the gateway (brand finance)."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.finance import periods, reconcile
from app.finance.control_schemas import (
    CorrectionSchema,
    DifferenceQuery,
    DifferenceSchema,
    PeriodSchema,
    PostedEntrySchema,
    RunRequestSchema,
    RunSchema,
)
from app.finance.reconcile_tasks import enqueue_reconciliation
from app.paging import PageQuery, page_of

blp = Blueprint("finance_controls", __name__, url_prefix="/finance",
                description="Period close, corrections by reversal, reconciliation against the gateway")


@blp.route("/periods")
class Periods(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(PeriodSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Closed periods (months, UTC) of my tenant, latest first."""
        return periods.list_periods(db.session, staff_only(), **query)


@blp.route("/periods/<string:period>/close")
class ClosePeriod(TransactionalView):
    @blp.response(200, PeriodSchema)
    @blp.errors(401, 403, 422)
    def post(self, period):
        """Close a month that has ended: no posting dated in it is accepted any more (final)."""
        return periods.close_period(db.session, staff_only(), period=period)


@blp.route("/entries/<uuid:entry_id>/reversal")
class Reversal(TransactionalView):
    @blp.arguments(CorrectionSchema)
    @blp.response(201, PostedEntrySchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body, entry_id):
        """Correct a posted entry: its reversal posts now, in the open period (once per entry)."""
        return periods.correct_entry(db.session, staff_only(), entry_id=entry_id, **body)


@blp.route("/reconciliation/runs")
class Runs(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(RunSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Reconciliation runs, newest first."""
        return reconcile.list_runs(db.session, staff_only(), **query)

    @blp.arguments(RunRequestSchema)
    @blp.response(202, RunSchema)
    @blp.errors(401, 403, 422)
    def post(self, body):
        """Reconcile the gateway's payouts since a moment against our books (a task runs it)."""
        return reconcile.start_run(db.session, staff_only(), enqueue=enqueue_reconciliation, **body)


@blp.route("/reconciliation/runs/<uuid:run_id>")
class Run(TransactionalView):
    @blp.response(200, RunSchema)
    @blp.errors(401, 403, 404)
    def get(self, run_id):
        """One run: its status, figures and fees per store."""
        return reconcile.get_run(db.session, staff_only(), run_id)


@blp.route("/reconciliation/runs/<uuid:run_id>/differences")
class Differences(TransactionalView):
    @blp.arguments(DifferenceQuery, location="query")
    @blp.response(200, page_of(DifferenceSchema))
    @blp.errors(401, 403, 422)
    def get(self, query, run_id):
        """What did not match in a run (a store's finance sees its own store's)."""
        return reconcile.list_differences(db.session, staff_only(), run_id=run_id, **query)
