"""Portal and brand admin: commission plans and levels, promoters, re-binding, the entries ledger."""

import uuid

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.distribution import bindings, plans, promoters, queries
from app.distribution.schemas import (
    BindingOut,
    BoundOut,
    CommissionEntryOut,
    EntryQuery,
    PlanIn,
    PlanOut,
    PortalTotalsOut,
    PromoterDecisionIn,
    PromoterLevelIn,
    PromoterLevelOut,
    PromoterListQuery,
    PromoterOut,
    PromoterRowOut,
    RebindIn,
    StaffPromoterIn,
    TotalsQuery,
)
from app.extensions import db
from app.paging import page_of

blp = Blueprint("distribution", __name__, url_prefix="/distribution",
                description="Distribution: commission plans, promoters, bindings, commission entries")


@blp.route("/plans")
class Plans(TransactionalView):
    @blp.response(200, PlanOut(many=True))
    @blp.errors(401, 403)
    def get(self):
        """Commission plans with their rules, newest first (the newest active one applies)."""
        return [{"plan": plan, "rules": rules} for plan, rules in plans.list_plans(db.session, staff_only())]

    @blp.arguments(PlanIn, example={"name": "2027 spring", "rules": [
        {"role": "promoter_l1", "rate_bp": 1000}, {"role": "home_store", "rate_bp": 300}]})
    @blp.response(201, PlanOut)
    @blp.errors(401, 403, 422)
    def post(self, body):
        """A new plan (the brand only); activating it applies it to orders placed from now on."""
        scope = staff_only()
        plan = plans.create_plan(db.session, scope, **body)
        plan, rules = plans.get_plan(db.session, scope, plan.id)
        return {"plan": plan, "rules": rules}


@blp.route("/plans/<uuid:plan_id>")
class Plan(TransactionalView):
    @blp.response(200, PlanOut)
    @blp.errors(401, 403, 404)
    def get(self, plan_id: uuid.UUID):
        """One plan with its rules."""
        plan, rules = plans.get_plan(db.session, staff_only(), plan_id)
        return {"plan": plan, "rules": rules}


@blp.route("/levels")
class Levels(TransactionalView):
    @blp.response(200, PromoterLevelOut(many=True))
    @blp.errors(401, 403)
    def get(self):
        """Promoter levels, lowest first."""
        return plans.list_levels(db.session, staff_only())

    @blp.arguments(PromoterLevelIn,
                   example={"name": "Silver", "rank": 1, "l1_rate_bp": 800, "l2_rate_bp": 300})
    @blp.response(201, PromoterLevelOut)
    @blp.errors(401, 403, 409, 422)
    def post(self, body):
        """A promoter level with its own default rates (the brand only)."""
        return plans.create_level(db.session, staff_only(), **body)


@blp.route("/promoters")
class Promoters(TransactionalView):
    @blp.arguments(PromoterListQuery, location="query")
    @blp.response(200, page_of(PromoterRowOut))
    @blp.errors(401, 403)
    def get(self, query):
        """Promoters in my subtree, newest first (names by my consumers fidelity)."""
        return queries.list_promoters(db.session, staff_only(), **query)

    @blp.arguments(StaffPromoterIn)
    @blp.response(201, PromoterOut)
    @blp.errors(401, 403, 404)
    def post(self, body):
        """Make one of my staff (a guide) a promoter."""
        return promoters.add_staff_promoter(db.session, staff_only(), **body)


@blp.route("/promoter-decisions")
class PromoterDecision(TransactionalView):
    @blp.arguments(PromoterDecisionIn, example={"promoter_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e",
                                                "approve": True})
    @blp.response(200, PromoterOut)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body):
        """Approve or reject an application, or suspend an active promoter (audited)."""
        return promoters.decide(db.session, staff_only(), **body)


@blp.route("/bindings/rebind")
class Rebind(TransactionalView):
    @blp.arguments(RebindIn)
    @blp.response(200, BoundOut)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body):
        """Move a customer to another promoter, protection or not (audited)."""
        return bindings.rebind(db.session, staff_only(), **body)


@blp.route("/consumers/<uuid:consumer_id>/bindings")
class ConsumerBindings(TransactionalView):
    @blp.response(200, BindingOut(many=True))
    @blp.errors(401, 403)
    def get(self, consumer_id: uuid.UUID):
        """A customer's binding history, newest first."""
        return bindings.history(db.session, staff_only(), consumer_id=consumer_id)


@blp.route("/entries")
class Entries(TransactionalView):
    @blp.arguments(EntryQuery, location="query")
    @blp.response(200, page_of(CommissionEntryOut))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Commission and settlement entries my scope sees as rows (commissions fidelity masked+)."""
        return queries.list_entries(db.session, staff_only(), **query)


@blp.route("/entries/totals")
class EntryTotals(TransactionalView):
    @blp.arguments(TotalsQuery, location="query")
    @blp.response(200, PortalTotalsOut)
    @blp.errors(401, 403)
    def get(self, query):
        """Commission totals over my subtree (also at `aggregate` fidelity)."""
        return queries.entry_totals(db.session, staff_only(), **query)


def register(api) -> None:
    from app.distribution.api_storefront import blp as storefront  # noqa: PLC0415

    api.register_blueprint(blp)
    api.register_blueprint(storefront)

