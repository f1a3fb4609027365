"""The member card in the mini-program: join, my card, my growth and points history."""

from app.auth.request import consumer_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.membership import card
from app.membership.members import require_member
from app.membership.schemas import CardOut, GrowthEntryOut, LotQuery, PointsLotOut, PointsMoveOut
from app.paging import PageQuery, page_of

blp = Blueprint("storefront_membership", __name__, url_prefix="/storefront/membership",
                description="Consumers: my member card, level, growth and points")


def _me():
    scope = consumer_only()
    return scope, require_member(db.session, scope.tenant_id, scope.consumer_id)


@blp.route("/join")
class Join(TransactionalView):
    @blp.response(200, CardOut)
    @blp.errors(401, 403, 404)
    def post(self):
        """Take the brand's member card (once; again answers the same card)."""
        return card.join(db.session, consumer_only())


@blp.route("/card")
class MyCard(TransactionalView):
    @blp.response(200, CardOut)
    @blp.errors(401, 403, 404)
    def get(self):
        """My level, growth and what the next level needs, points (expiring soon), benefits, coupons."""
        return card.my_card(db.session, consumer_only())


@blp.route("/growth")
class MyGrowth(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(GrowthEntryOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query):
        """My growth entries, newest first."""
        scope, member = _me()
        return card.growth_history(db.session, scope, member, **query)


@blp.route("/points/moves")
class MyPointsMoves(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(PointsMoveOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query):
        """Every change of my points (earned, spent, given back, reversed, adjusted), newest first."""
        scope, member = _me()
        return card.points_history(db.session, scope, member, **query)


@blp.route("/points/lots")
class MyPointsLots(TransactionalView):
    @blp.arguments(LotQuery, location="query")
    @blp.response(200, page_of(PointsLotOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query):
        """My lots of points: pending until, expiring at, what expired."""
        scope, member = _me()
        return card.points_lots(db.session, scope, member, **query)
