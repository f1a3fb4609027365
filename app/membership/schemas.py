"""Request and response bodies of the membership endpoints."""

import marshmallow as ma

from app.membership.models import LotStatus, MoveKind
from app.membership.rules import EXPIRY_RULE
from app.paging import PageQuery
from app.schemas import Money, Schema, StrictInteger
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.masking import MaskedName, MaskedPhone, MaskedText, RowFidelity, ScopedSchema
from app.tenancy.scope import Scope

POINTS_BOUND = 10**12


def _count(low: int = 0, high: int = 10**9, **kwargs) -> StrictInteger:
    return StrictInteger(bound=max(abs(low), abs(high)), validate=ma.validate.Range(low, high), **kwargs)


# --- configuration (brand) --------------------------------------------------------------------

class ProgramIn(Schema):
    active = ma.fields.Boolean()
    growth_window_months = _count(1, 120, metadata={"description": "Rolling window of growth"})
    grace_days = _count(0, 3650, metadata={"description": "Below retention, the level is kept this long"})
    return_window_days = _count(0, 365, metadata={"description": "Earned points stay pending this long"})
    points_expiry = ma.fields.String(validate=ma.validate.Regexp(EXPIRY_RULE), metadata={
        "description": "never | days:N | end_of_month | end_of_year", "example": "end_of_year"})
    points_per_unit = _count(1, 1_000_000, metadata={"description": "Points worth one major unit"})
    max_points_share_bp = _count(0, 10_000, metadata={"description": "Of an order's goods, in basis points"})
    earn_points_per_unit = _count(0, 10_000, metadata={"description": "Earned per major unit paid"})
    growth_per_unit = _count(0, 10_000, metadata={"description": "Growth per major unit of completed spend"})


class ProgramOut(ProgramIn):
    id = ma.fields.UUID()
    currency = ma.fields.String()
    active = ma.fields.Boolean()
    points_expiry = ma.fields.String()
    updated_at = ma.fields.DateTime()


class LevelIn(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    rank = _count(0, 100, required=True)
    growth_threshold = _count(0, 10**12, required=True)
    retention_threshold = _count(0, 10**12, load_default=None, metadata={
        "description": "Growth in the window that keeps the level (保级); default: the growth threshold"})
    discount_bp = _count(0, 10_000, load_default=0)
    points_multiplier_pct = _count(0, 10_000, load_default=100)
    free_shipping_min_minor = Money(load_default=None, allow_none=True, validate=ma.validate.Range(0))
    birthday_gift_points = _count(0, 10**9, load_default=0)
    exclusive_coupon_template_ids = ma.fields.List(ma.fields.UUID(), load_default=list,
                                                   validate=ma.validate.Length(max=50))


class LevelOut(Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    rank = ma.fields.Integer()
    growth_threshold = ma.fields.Integer()
    retention_threshold = ma.fields.Integer()
    discount_bp = ma.fields.Integer()
    points_multiplier_pct = ma.fields.Integer()
    free_shipping_min_minor = Money(allow_none=True)
    birthday_gift_points = ma.fields.Integer()
    exclusive_coupon_template_ids = ma.fields.List(ma.fields.String())


# --- the card -----------------------------------------------------------------------------------

class LevelRef(Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    rank = ma.fields.Integer()


class NextLevel(LevelRef):
    growth_threshold = ma.fields.Integer()
    growth_missing = ma.fields.Integer(metadata={"description": "Growth still needed to reach it"})


class Expiring(Schema):
    expires_at = ma.fields.DateTime()
    points = ma.fields.Integer()


class PointsSummary(Schema):
    available = ma.fields.Integer()
    pending = ma.fields.Integer(metadata={"description": "Earned, inside the return window"})
    debt = ma.fields.Integer(metadata={"description": "Refunded after being spent; later earnings repay it"})
    expiring_soon = ma.fields.List(ma.fields.Nested(Expiring), metadata={"description": "Next 30 days"})


class BenefitsOut(Schema):
    discount_bp = ma.fields.Integer()
    points_multiplier_pct = ma.fields.Integer()
    free_shipping_min_minor = Money(allow_none=True)
    exclusive_coupon_template_ids = ma.fields.List(ma.fields.String())


class CardOut(Schema):
    member_id = ma.fields.UUID()
    since = ma.fields.DateTime()
    level = ma.fields.Nested(LevelRef, allow_none=True)
    level_since = ma.fields.DateTime()
    grace_until = ma.fields.DateTime(allow_none=True, metadata={
        "description": "Below the level's retention: kept until then unless growth catches up"})
    growth = ma.fields.Integer(metadata={"description": "Growth in the rolling window"})
    next_level = ma.fields.Nested(NextLevel, allow_none=True)
    points = ma.fields.Nested(PointsSummary)
    benefits = ma.fields.Nested(BenefitsOut)
    coupons = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "My coupons, usable now, by expiry (filled by the coupons module)"})


class GrowthEntryOut(Schema):
    id = ma.fields.UUID()
    amount = ma.fields.Integer()
    reason = ma.fields.String()
    order_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()


class PointsMoveOut(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(MoveKind)
    points = ma.fields.Integer(metadata={"description": "+ in, - out of my balance"})
    lot_id = ma.fields.UUID()
    order_id = ma.fields.UUID(allow_none=True)
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class PointsLotOut(Schema):
    id = ma.fields.UUID()
    status = ma.fields.Enum(LotStatus)
    origin = ma.fields.String()
    points = ma.fields.Integer()
    remaining = ma.fields.Integer()
    expired_points = ma.fields.Integer()
    available_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    order_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()


class LotQuery(PageQuery):
    status = ma.fields.Enum(LotStatus, load_default=None)


# --- a store's members ---------------------------------------------------------------------------

class MemberQuery(PageQuery):
    level_id = ma.fields.UUID(load_default=None)


class MemberOut(ScopedSchema):
    """A store's member, personal data at the caller's consumers fidelity of the member's store."""

    @staticmethod
    def row_fidelity(scope: Scope, row: dict) -> Fidelity:
        return scope.fidelity(Dataset.consumers, row["owner_path"])

    id = ma.fields.UUID()
    consumer_id = ma.fields.UUID()
    home_store_id = ma.fields.UUID(allow_none=True)
    name = MaskedName()
    phone = MaskedPhone()
    birthday = MaskedText()
    level_id = ma.fields.UUID(allow_none=True)
    growth = ma.fields.Integer()
    points_available = ma.fields.Integer()
    points_pending = ma.fields.Integer()
    points_debt = ma.fields.Integer()
    level_since = ma.fields.DateTime()
    grace_until = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    fidelity = RowFidelity()


class MemberDetailOut(MemberOut):
    card = ma.fields.Nested(CardOut)


class AdjustmentIn(Schema):
    points = StrictInteger(bound=POINTS_BOUND, required=True, validate=ma.validate.NoneOf([0]),
                           metadata={"description": "Positive adds a lot, negative takes (all or nothing)"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 500))


class AdjustmentOut(Schema):
    points = ma.fields.Integer()
    member = ma.fields.Nested(MemberOut)


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(data_key="Idempotency-Key", load_default=None,
                                       validate=ma.validate.Length(1, 100))
