"""The points ledger: spend FIFO by expiry, give back, credit (repaying debt first), take.

Lots change only through conditional UPDATEs (`remaining >= :n`, `status = 'available'`) and the
member's totals only as SQL increments that may not go below zero, so parallel spends on
separate connections can never take a point twice or drive a balance negative.
Moves are deltas of the member's balance (available + pending - debt); expired points are
recorded on their lot (status expired, expired_points), not as moves (see docs/membership.md).
Lock order: the order row (when an order is involved), then lots, then the member row.
"""

import uuid
from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance.models import AccountCode
from app.membership import rules
from app.membership.errors import InsufficientPoints, InvalidPoints
from app.membership.models import LotStatus, Member, MembershipProgram, MoveKind, PointsLot, PointsMove
from app.membership.postings import post_points, redemption_posted, value_difference
from app.membership.programs import points_for_minor, points_value_minor, program_for  # noqa: F401
from app.orders.locks import lock_order

A = AccountCode
Take = tuple[uuid.UUID, int]


def check_points(points: object) -> int:
    """A strictly positive integer (True, 1.5, '3' are refused)."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidPoints("Points are a positive whole number.")
    return points


# --- balances ------------------------------------------------------------------------------

def bump_member(session: Session, member: Member, *, available: int = 0, pending: int = 0,
                debt: int = 0) -> bool:
    """Add to the member's totals in one conditional UPDATE; False (nothing changed) if any would go
    below zero."""
    if not (available or pending or debt):
        return True
    row = session.execute(
        update(Member).where(Member.tenant_id == member.tenant_id, Member.id == member.id,
                             Member.points_available + available >= 0,
                             Member.points_pending + pending >= 0, Member.points_debt + debt >= 0)
        .values(points_available=Member.points_available + available,
                points_pending=Member.points_pending + pending,
                points_debt=Member.points_debt + debt)
        .returning(Member.id).execution_options(synchronize_session=False)).first()
    return row is not None


def _usable(now: datetime):
    return (PointsLot.status == LotStatus.available,
            or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > now))


def take_fifo(session: Session, member: Member, need: int, *, now: datetime,
              status: LotStatus = LotStatus.available) -> list[Take]:
    """Take up to `need` points from the member's lots, soonest expiry first; what was taken per lot.

    Each take is a conditional UPDATE; a lot another connection drained meanwhile is re-read.
    """
    usable = _usable(now) if status is LotStatus.available else (PointsLot.status == status,)
    candidates = session.execute(
        select(PointsLot.id, PointsLot.remaining)
        .where(PointsLot.tenant_id == member.tenant_id, PointsLot.member_id == member.id,
               PointsLot.remaining > 0, *usable)
        .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)).all()
    takes: list[Take] = []
    for lot_id, remaining in candidates:
        while need > 0 and remaining > 0:
            take = min(need, remaining)
            taken = session.execute(
                update(PointsLot).where(PointsLot.tenant_id == member.tenant_id, PointsLot.id == lot_id,
                                        PointsLot.remaining >= take, *usable)
                .values(remaining=PointsLot.remaining - take)
                .returning(PointsLot.id).execution_options(synchronize_session=False)).first()
            if taken is not None:
                takes.append((lot_id, take))
                need -= take
                break
            remaining = session.scalar(select(PointsLot.remaining).where(
                PointsLot.tenant_id == member.tenant_id, PointsLot.id == lot_id, *usable)) or 0
        if need == 0:
            break
    return takes


def record_moves(session: Session, member: Member, kind: MoveKind, parts: list[Take], *,
                 source_key: str, sign: int, order_id: uuid.UUID | None = None, first_seq: int = 0,
                 note: str | None = None, actor_id: uuid.UUID | None = None) -> None:
    if not parts:
        return
    now = utcnow()
    session.execute(insert(PointsMove), [
        {"tenant_id": member.tenant_id, "id": uuid7(), "owner_path": member.owner_path,
         "created_at": now, "consumer_id": member.consumer_id, "member_id": member.id,
         "lot_id": lot_id, "kind": kind, "points": sign * points, "order_id": order_id,
         "source_key": source_key, "seq": first_seq + n, "note": note, "actor_id": actor_id}
        for n, (lot_id, points) in enumerate(parts)])


def new_lot(session: Session, member: Member, *, status: LotStatus, origin: str, points: int,
            source_key: str, order_id: uuid.UUID | None = None, available_at: datetime | None = None,
            expires_at: datetime | None = None, remaining: int | None = None) -> uuid.UUID:
    lot_id = uuid7()
    session.execute(insert(PointsLot).values(
        tenant_id=member.tenant_id, id=lot_id, owner_path=member.owner_path, created_at=utcnow(),
        consumer_id=member.consumer_id, member_id=member.id, status=status, origin=origin,
        points=points, remaining=points if remaining is None else remaining, expired_points=0,
        reversed_points=0, written_off_points=0, available_at=available_at, expires_at=expires_at,
        order_id=order_id, source_key=source_key))
    return lot_id


# --- spend and give back (checkout, points mall, cancel, refund) ---------------------------

def spend(session: Session, *, tenant_id: uuid.UUID, consumer_id: uuid.UUID, points: int,
          order_id: uuid.UUID | None, source_key: str) -> list[Take]:
    """Take `points` FIFO by expiry from available lots: [(lot id, points taken)].

    All or nothing (409 insufficient_points, nothing taken); a replayed source_key returns the
    first call's takes without spending again. The redemption is booked when the order is paid.
    """
    check_points(points)
    earlier = _moves_of(session, tenant_id, source_key)
    if earlier:
        return [(move.lot_id, -move.points) for move in earlier]
    member = session.scalars(select(Member).where(Member.tenant_id == tenant_id,
                                                  Member.consumer_id == consumer_id)).one_or_none()
    if member is None:
        raise InsufficientPoints("Only members have points to spend.")
    with session.begin_nested():  # a refusal undoes the partial takes
        takes = take_fifo(session, member, points, now=utcnow())
        if sum(taken for _, taken in takes) < points or not bump_member(session, member, available=-points):
            raise InsufficientPoints(f"Fewer than {points} points are available.")
        record_moves(session, member, MoveKind.spend, takes, source_key=source_key, sign=-1,
                     order_id=order_id)
    return takes


def spend_at_checkout(session: Session, *, tenant_id: uuid.UUID, consumer_id: uuid.UUID, points: int,
                      order_id: uuid.UUID | None, source_key: str,
                      already: tuple[Take, ...] = ()) -> list[Take]:
    """`spend` for order placement: 3 statements instead of 9 when the soonest-expiring lot holds
    all the points (one UPDATE picks and takes it), else 4 + one UPDATE per lot taken from.

    No replay SELECT (the order's Idempotency-Key already answers a replay before placement runs)
    and no savepoint: an InsufficientPoints here fails the whole request, whose transaction rolls
    back with the partial takes. The lots are found through a member-id subquery and the member
    row through the conditional UPDATE of its balance (RETURNING what the moves need), so the
    member is never SELECTed on its own. Lock order stays lots, then member.

    `already`: takes the caller made in this transaction (checkout_writes' one statement, when a lot
    it had planned on was drained meanwhile); only the rest is taken here.
    """
    check_points(points)
    now = utcnow()
    usable = _usable(now)
    member_id = select(Member.id).where(Member.tenant_id == tenant_id,  # ix_points_lots_member
                                        Member.consumer_id == consumer_id).scalar_subquery()
    need = points - sum(taken for _, taken in already)
    takes = [] if already else _take_from_first_lot(session, tenant_id, member_id, need, usable)
    if not takes and need > 0:
        takes = _take_lot_by_lot(session, tenant_id, member_id, need, usable)
    takes = [*already, *takes]
    if sum(taken for _, taken in takes) < points:
        raise InsufficientPoints(f"Fewer than {points} points are available.")
    member = session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.consumer_id == consumer_id,
                             Member.points_available - points >= 0)
        .values(points_available=Member.points_available - points)
        .returning(Member.id, Member.owner_path).execution_options(synchronize_session=False)).first()
    if member is None:
        raise InsufficientPoints(f"Fewer than {points} points are available.")
    session.execute(insert(PointsMove), [
        {"tenant_id": tenant_id, "id": uuid7(), "owner_path": member.owner_path, "created_at": now,
         "consumer_id": consumer_id, "member_id": member.id, "lot_id": lot_id, "kind": MoveKind.spend,
         "points": -taken, "order_id": order_id, "source_key": source_key, "seq": n}
        for n, (lot_id, taken) in enumerate(takes)])
    return takes


def _fifo_lots(tenant_id: uuid.UUID, member_id, usable):
    return (select(PointsLot.id, PointsLot.remaining)
            .where(PointsLot.tenant_id == tenant_id, PointsLot.member_id == member_id,
                   PointsLot.remaining > 0, *usable)
            .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id))


def _take_from_first_lot(session: Session, tenant_id: uuid.UUID, member_id, need: int, usable) -> list[Take]:
    """The common case in one statement: the soonest-expiring lot holds all `need` points.
    Nothing taken (fall back to lot by lot) when it holds fewer or another connection drained it."""
    first = (_fifo_lots(tenant_id, member_id, usable).with_only_columns(PointsLot.id)
             .limit(1).scalar_subquery())
    taken = session.execute(
        update(PointsLot).where(PointsLot.tenant_id == tenant_id, PointsLot.id == first,
                                PointsLot.remaining >= need, *usable)
        .values(remaining=PointsLot.remaining - need)
        .returning(PointsLot.id).execution_options(synchronize_session=False)).first()
    return [(taken.id, need)] if taken is not None else []


def _take_lot_by_lot(session: Session, tenant_id: uuid.UUID, member_id, need: int, usable) -> list[Take]:
    """Read the usable lots FIFO and take from each with a conditional UPDATE (re-read if drained)."""
    candidates = session.execute(_fifo_lots(tenant_id, member_id, usable)).all()
    takes: list[Take] = []
    for lot_id, remaining in candidates:
        while need > 0 and remaining > 0:
            take = min(need, remaining)
            taken = session.execute(
                update(PointsLot).where(PointsLot.tenant_id == tenant_id, PointsLot.id == lot_id,
                                        PointsLot.remaining >= take, *usable)
                .values(remaining=PointsLot.remaining - take)
                .returning(PointsLot.id).execution_options(synchronize_session=False)).first()
            if taken is not None:
                takes.append((lot_id, take))
                need -= take
                break
            remaining = session.scalar(select(PointsLot.remaining).where(  # drained meanwhile
                PointsLot.tenant_id == tenant_id, PointsLot.id == lot_id, *usable)) or 0
        if need == 0:
            break
    return takes


def give_back(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID, points: int,
              source_key: str) -> int:
    """Return up to `points` of what the order spent, latest takes first; how many came back.

    A point goes back to its own lot while that lot is still usable, otherwise into a new lot
    expiring by the program's rule from now (a returned point is never already expired).
    Idempotent per source_key; give-backs of one order queue on the order row.
    """
    check_points(points)
    lock_order(session, tenant_id, order_id)
    earlier = _moves_of(session, tenant_id, source_key)
    if earlier:
        return sum(move.points for move in earlier)
    spent = list(session.scalars(_order_moves(tenant_id, order_id, MoveKind.spend)
                                 .order_by(PointsMove.created_at, PointsMove.seq)))
    given = sum(move.points for move in session.scalars(
        _order_moves(tenant_id, order_id, MoveKind.give_back)))
    chunks = _latest_first(spent, skip=given, limit=points)
    if not chunks:
        return 0
    member = session.get(Member, (tenant_id, spent[0].member_id))
    program = program_for(session, tenant_id)
    now, parts = utcnow(), []
    for n, (lot_id, amount) in enumerate(chunks):
        back = session.execute(
            update(PointsLot).where(PointsLot.tenant_id == tenant_id, PointsLot.id == lot_id,
                                    PointsLot.remaining + amount <= PointsLot.points, *_usable(now))
            .values(remaining=PointsLot.remaining + amount)
            .returning(PointsLot.id).execution_options(synchronize_session=False)).first()
        if back is None:
            lot_id = new_lot(session, member, status=LotStatus.available, origin="give_back",
                             points=amount, source_key=f"{source_key}:{n}", order_id=order_id,
                             available_at=now, expires_at=_expiry(program, now))
        parts.append((lot_id, amount))
    total = sum(amount for _, amount in parts)
    bump_member(session, member, available=total)
    record_moves(session, member, MoveKind.give_back, parts, source_key=source_key, sign=1,
                 order_id=order_id)
    if program is not None and redemption_posted(session, tenant_id, order_id):
        order = lock_order(session, tenant_id, order_id)
        post_points(session, program, kind="points_give_back", source_key=f"points.give_back:{source_key}",
                    debit=A.sales_returns, credit=A.points_liability,
                    value_minor=value_difference(program, given, given + total),
                    seller_org_id=order.seller_org_id, details={"order_id": str(order_id)})
    return total


def _latest_first(spent: list[PointsMove], *, skip: int, limit: int) -> list[Take]:
    """The takes of `spent`, latest first, past the first `skip` points, up to `limit` points."""
    chunks: list[Take] = []
    for move in reversed(spent):
        amount = -move.points
        passed = min(skip, amount)
        skip, amount = skip - passed, amount - passed
        amount = min(amount, limit)
        if amount > 0:
            chunks.append((move.lot_id, amount))
            limit -= amount
        if limit == 0:
            break
    return chunks


def _moves_of(session: Session, tenant_id: uuid.UUID, source_key: str) -> list[PointsMove]:
    return list(session.scalars(select(PointsMove).where(
        PointsMove.tenant_id == tenant_id, PointsMove.source_key == source_key).order_by(PointsMove.seq)))


def _order_moves(tenant_id: uuid.UUID, order_id: uuid.UUID, kind: MoveKind):
    return select(PointsMove).where(PointsMove.tenant_id == tenant_id, PointsMove.order_id == order_id,
                                    PointsMove.kind == kind)


def _expiry(program: MembershipProgram | None, start: datetime) -> datetime | None:
    return rules.expires_at(program.points_expiry, start) if program is not None else None


# --- credit (earn, adjust, gifts): later earnings repay a debt first ------------------------

def credit(session: Session, member: Member, *, points: int, origin: str, kind: MoveKind,
           source_key: str, status: LotStatus, available_at: datetime | None,
           expires_at: datetime | None, order_id: uuid.UUID | None = None, note: str | None = None,
           actor_id: uuid.UUID | None = None) -> uuid.UUID:
    """A new lot of `points`; the member's debt is repaid from it first. Returns the lot id."""
    repaid = take_fifo(session, member, points, now=utcnow(), status=LotStatus.debt)
    repay = sum(points for _, points in repaid)
    lot_id = new_lot(session, member, status=status, origin=origin, points=points, source_key=source_key,
                     order_id=order_id, available_at=available_at, expires_at=expires_at,
                     remaining=points - repay)
    kept = points - repay
    bump_member(session, member, debt=-repay,
                **({"pending": kept} if status is LotStatus.pending else {"available": kept}))
    record_moves(session, member, kind, [(lot_id, points)], source_key=source_key, sign=1,
                 order_id=order_id, note=note, actor_id=actor_id)
    if repay:
        record_moves(session, member, MoveKind.repay, [(lot_id, repay)], source_key=source_key,
                     sign=-1, order_id=order_id, first_seq=1, note="repays a points debt")
        record_moves(session, member, MoveKind.repay, repaid, source_key=source_key, sign=1,
                     order_id=order_id, first_seq=2, note="debt repaid")
    return lot_id


def take(session: Session, member: Member, *, points: int, kind: MoveKind, source_key: str,
         order_id: uuid.UUID | None = None, note: str | None = None,
         actor_id: uuid.UUID | None = None) -> int:
    """Take up to `points` from available lots (FIFO) with moves; how many were taken."""
    takes = take_fifo(session, member, points, now=utcnow())
    total = sum(points for _, points in takes)
    if total and not bump_member(session, member, available=-total):
        raise InsufficientPoints("The points balance changed meanwhile; try again.")
    record_moves(session, member, kind, takes, source_key=source_key, sign=-1, order_id=order_id,
                 note=note, actor_id=actor_id)
    return total
