"""Coupons, the checkout quote and the points mall: the brand configures, members claim and redeem."""

from app.auth.request import consumer_only, staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.membership import coupons, issuance, mall, quotes
from app.membership.offer_schemas import (
    CouponOut,
    CouponQuery,
    IssueIn,
    IssueJobOut,
    MallItemIn,
    MallItemOut,
    QuoteIn,
    QuoteOut,
    RedeemIn,
    TemplateIn,
    TemplateOut,
)
from app.orders.api_staff import placed_response
from app.orders.schemas import IdempotencyHeader, OrderOut
from app.paging import PageQuery, page_of

blp = Blueprint("membership_offers", __name__, url_prefix="/membership",
                description="The brand's coupon templates, targeted issuance and points-mall items")
storefront = Blueprint("membership_offers_storefront", __name__, url_prefix="/storefront",
                       description="Members: claim and list coupons, quote a checkout, redeem mall items")

ERRORS = (401, 403, 404, 409, 422)


@blp.route("/coupon-templates")
class Templates(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(TemplateOut))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """The brand's active coupon templates, newest first."""
        return coupons.list_templates(db.session, staff_only(), **query)

    @blp.arguments(TemplateIn, example={"name": "满199减30", "kind": "amount_off", "amount_off_minor": 3000,
                                        "min_goods_minor": 19900, "valid_days": 30, "total_quantity": 1000})
    @blp.response(201, TemplateOut)
    @blp.errors(*ERRORS)
    def post(self, body):
        """Define a coupon template (brand managers)."""
        return coupons.create_template(db.session, staff_only(), **body)


@blp.route("/coupon-templates/<uuid:template_id>/issue")
class Issue(TransactionalView):
    @blp.arguments(IssueIn, example={"segment": {"level_codes": ["gold"]}})
    @blp.response(202, IssueJobOut)
    @blp.errors(*ERRORS)
    def post(self, body, template_id):
        """Issue the template to a segment of members (千人千券): a background job with progress."""
        return issuance.start(db.session, staff_only(), template_id=template_id, segment=body["segment"])


@blp.route("/coupon-issue-jobs/<uuid:job_id>")
class IssueJob(TransactionalView):
    @blp.response(200, IssueJobOut)
    @blp.errors(401, 403, 404)
    def get(self, job_id):
        """An issuance job's progress: members done of total, coupons issued."""
        return issuance.get_job(db.session, staff_only(), job_id)


@blp.route("/mall-items")
class MallItems(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(MallItemOut))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """The points mall's items on offer."""
        return mall.list_items(db.session, staff_only(), **query)

    @blp.arguments(MallItemIn)
    @blp.response(201, MallItemOut)
    @blp.errors(*ERRORS)
    def post(self, body):
        """Offer a SKU in the points mall for points plus optional cash (brand managers)."""
        return mall.create_item(db.session, staff_only(), **body)


@storefront.route("/membership/coupon-templates")
class ClaimableTemplates(TransactionalView):
    @storefront.arguments(PageQuery, location="query")
    @storefront.response(200, page_of(TemplateOut))
    @storefront.errors(401, 403, 422)
    def get(self, query):
        """Coupons I may claim (领券中心)."""
        return coupons.list_templates(db.session, consumer_only(), claimable_only=True, **query)


@storefront.route("/membership/coupon-templates/<uuid:template_id>/claim")
class Claim(TransactionalView):
    @storefront.response(201, CouponOut)
    @storefront.errors(*ERRORS)
    def post(self, template_id):
        """Claim a coupon, within the per-member limit and the total quantity."""
        scope = consumer_only()
        coupon = coupons.claim(db.session, scope, template_id=template_id)
        return {**coupons.columns(coupon), "template": coupons.get_template(db.session, scope, template_id)}


@storefront.route("/membership/coupons")
class MyCoupons(TransactionalView):
    @storefront.arguments(CouponQuery, location="query")
    @storefront.response(200, page_of(CouponOut))
    @storefront.errors(401, 403, 422)
    def get(self, query):
        """My coupons, soonest expiry first (usable now by default)."""
        return coupons.my_coupons(db.session, consumer_only(), **query)


@storefront.route("/checkout/quote")
class Quote(TransactionalView):
    @storefront.arguments(QuoteIn, example={"coupon_id": None, "points": 500})
    @storefront.response(200, QuoteOut)
    @storefront.errors(*ERRORS)
    def post(self, body):
        """What checkout would charge: tier price, level, coupon, points, shipping (claims nothing)."""
        return quotes.quote(db.session, consumer_only(), **body)


@storefront.route("/membership/mall-items")
class MallShelf(TransactionalView):
    @storefront.arguments(PageQuery, location="query")
    @storefront.response(200, page_of(MallItemOut))
    @storefront.errors(401, 403, 422)
    def get(self, query):
        """The points mall."""
        return mall.list_items(db.session, consumer_only(), **query)


@storefront.route("/membership/mall-items/<uuid:item_id>/redeem")
class Redeem(TransactionalView):
    @storefront.arguments(IdempotencyHeader, location="headers")
    @storefront.arguments(RedeemIn, example={"qty": 1, "delivery": "pickup"})
    @storefront.response(201, OrderOut)
    @storefront.alt_response(200, schema=OrderOut, description="Replayed: what this Idempotency-Key made")
    @storefront.errors(*ERRORS)
    def post(self, headers, body, item_id):
        """Redeem points for an item: a retail order at my home store paying its cash and shipping."""
        scope = consumer_only()
        placed = mall.redeem(db.session, scope, item_id=item_id, idempotency_key=headers["idempotency_key"],
                             **body)
        return placed_response(scope, placed)


def register(api) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(storefront)
