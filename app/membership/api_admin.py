"""Staff: the brand configures the program and levels; a store reads its members and adjusts points."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.membership import card, config
from app.membership.adjustments import adjust_points
from app.membership.errors import NoProgram
from app.membership.programs import levels_of, program_for
from app.membership.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    GrowthEntryOut,
    IdempotencyHeader,
    LevelIn,
    LevelOut,
    LotQuery,
    MemberDetailOut,
    MemberOut,
    MemberQuery,
    PointsLotOut,
    PointsMoveOut,
    ProgramIn,
    ProgramOut,
)
from app.paging import PageQuery, page_of

blp = Blueprint("membership", __name__, url_prefix="/membership",
                description="Brand admin: the membership program and levels; stores: their members")


@blp.route("/program")
class Program(TransactionalView):
    @blp.response(200, ProgramOut)
    @blp.errors(401, 403, 404)
    def get(self):
        """The tenant's membership program."""
        program = program_for(db.session, staff_only().tenant_id)
        if program is None:
            raise NoProgram("This brand has no membership program.")
        return program

    @blp.arguments(ProgramIn, example={"growth_window_months": 12, "grace_days": 30,
                                       "return_window_days": 7, "points_expiry": "end_of_year",
                                       "points_per_unit": 100, "max_points_share_bp": 5000,
                                       "earn_points_per_unit": 1, "growth_per_unit": 1})
    @blp.response(200, ProgramOut)
    @blp.errors(401, 403, 409, 422)
    def put(self, body):
        """Create the program or change the settings given (brand only)."""
        return config.configure_program(db.session, staff_only(), body)


@blp.route("/levels")
class Levels(TransactionalView):
    @blp.response(200, LevelOut(many=True))
    @blp.errors(401, 403)
    def get(self):
        """The levels, lowest rank first, with their benefits."""
        return levels_of(db.session, staff_only().tenant_id)


@blp.route("/levels/<code>")
class Level(TransactionalView):
    @blp.arguments(LevelIn, example={"name": "Gold", "rank": 1, "growth_threshold": 1000,
                                     "retention_threshold": 600, "discount_bp": 500,
                                     "points_multiplier_pct": 150, "free_shipping_min_minor": 9900,
                                     "birthday_gift_points": 200})
    @blp.response(200, LevelOut)
    @blp.errors(401, 403, 404, 409, 422)
    def put(self, body, code):
        """Create or replace the level with this code (brand only)."""
        return config.put_level(db.session, staff_only(), code, body)


@blp.route("/members")
class Members(TransactionalView):
    @blp.arguments(MemberQuery, location="query")
    @blp.response(200, page_of(MemberOut))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Members of the stores I see, newest first; personal data at my consumers fidelity."""
        return card.list_members(db.session, staff_only(), **query)


@blp.route("/members/<uuid:member_id>")
class MemberDetail(TransactionalView):
    @blp.response(200, MemberDetailOut)
    @blp.errors(401, 403, 404)
    def get(self, member_id):
        """One member with their card."""
        return card.member_detail(db.session, staff_only(), member_id)


@blp.route("/members/<uuid:member_id>/growth")
class MemberGrowth(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(GrowthEntryOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query, member_id):
        """A member's growth entries, newest first."""
        scope = staff_only()
        return card.growth_history(db.session, scope, card.get_member(db.session, scope, member_id), **query)


@blp.route("/members/<uuid:member_id>/points/moves")
class MemberPointsMoves(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(PointsMoveOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query, member_id):
        """A member's points moves, newest first."""
        scope = staff_only()
        return card.points_history(db.session, scope, card.get_member(db.session, scope, member_id), **query)


@blp.route("/members/<uuid:member_id>/points/lots")
class MemberPointsLots(TransactionalView):
    @blp.arguments(LotQuery, location="query")
    @blp.response(200, page_of(PointsLotOut))
    @blp.errors(401, 403, 404, 422)
    def get(self, query, member_id):
        """A member's lots of points."""
        scope = staff_only()
        return card.points_lots(db.session, scope, card.get_member(db.session, scope, member_id), **query)


@blp.route("/members/<uuid:member_id>/points/adjustments")
class PointsAdjustments(TransactionalView):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(AdjustmentIn, example={"points": 200, "reason": "goodwill: late delivery"})
    @blp.response(201, AdjustmentOut)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, headers, body, member_id):
        """Add or take points by hand (points.adjust), audited; Idempotency-Key makes a retry safe."""
        scope = staff_only()
        points = adjust_points(db.session, scope, member_id, key=headers["idempotency_key"], **body)
        db.session.expire_all()
        return {"points": points, "member": card.member_detail(db.session, scope, member_id)}


def register(api) -> None:
    from app.membership.api_storefront import blp as storefront  # noqa: PLC0415

    for blueprint in (blp, storefront):
        api.register_blueprint(blueprint)
