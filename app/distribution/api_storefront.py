"""Mini-program (consumers): become a promoter, bind by share link or QR code, my numbers, team, orders."""

from app.auth.request import consumer_only
from app.blueprint import Blueprint, TransactionalView
from app.distribution import bindings, promoters, queries
from app.distribution.schemas import (
    BindIn,
    BoundOut,
    MyOrderOut,
    MySummaryOut,
    PromoterOut,
    TeamMemberOut,
)
from app.extensions import db
from app.paging import PageQuery, page_of

blp = Blueprint("storefront_distribution", __name__, url_prefix="/storefront",
                description="Consumers: promoters (分销员) and referral bindings")


@blp.route("/promoter")
class MyPromoter(TransactionalView):
    @blp.response(200, MySummaryOut)
    @blp.errors(401, 403, 404)
    def get(self):
        """My promoter page: today / pending / available / settled / paid commissions."""
        return queries.my_summary(db.session, consumer_only())

    @blp.response(200, PromoterOut)
    @blp.errors(401, 403, 409, 422)
    def post(self):
        """Apply to share: active at once, or pending approval, by the brand's rule."""
        return promoters.apply(db.session, consumer_only())


@blp.route("/promoter/team")
class MyTeam(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(TeamMemberOut))
    @blp.errors(401, 403, 404)
    def get(self, query):
        """The customers bound to me now (names masked), newest first."""
        return queries.my_team(db.session, consumer_only(), **query)


@blp.route("/promoter/orders")
class MyCommissionOrders(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(MyOrderOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query):
        """My commission per order (net of refunds), newest first; no buyer data."""
        return queries.my_orders(db.session, consumer_only(), **query)


@blp.route("/bindings")
class MyBinding(TransactionalView):
    @blp.arguments(BindIn, example={"code": "K7QX2M9A", "source": "share_link"})
    @blp.response(200, BoundOut)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body):
        """I opened a promoter's share link or QR code: bind me by the brand's attribution rule."""
        return bindings.bind(db.session, consumer_only(), **body)
