"""Manual points adjustments by staff (points.adjust), audited and booked like any other movement."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance.models import AccountCode
from app.membership import rules
from app.membership.errors import InsufficientPoints, InvalidPoints, NoProgram
from app.membership.models import LotStatus, Member, MoveKind, PointsMove
from app.membership.points import credit, take
from app.membership.postings import post_points
from app.membership.programs import points_value_minor, program_for
from app.platform.audit import audit
from app.tenancy.filters import get_visible
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

A = AccountCode


def adjust_points(session: Session, scope: Scope, member_id: uuid.UUID, *, points: int, reason: str,
                  key: str | None = None) -> int:
    """Add (points > 0, a new lot that repays any debt first) or take (< 0, all or nothing) points.

    Idempotent per key (the request's Idempotency-Key); returns the points moved.
    """
    require(scope, Action.adjust_points)
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidPoints("An adjustment is a non-zero whole number of points.")
    member = get_visible(session, Member, scope, member_id)
    require(scope, Action.adjust_points, on=member.owner_path)
    program = program_for(session, scope.tenant_id)
    if program is None:
        raise NoProgram("This brand has no membership program.")
    source_key = f"adjust:{member.id}:{key or uuid7()}"
    if session.scalar(select(PointsMove.id).where(PointsMove.tenant_id == member.tenant_id,
                                                  PointsMove.source_key == source_key).limit(1)):
        return points
    actor = scope.actor_id
    if points > 0:
        now = utcnow()
        credit(session, member, points=points, origin="adjust", kind=MoveKind.adjust, source_key=source_key,
               status=LotStatus.available, available_at=now,
               expires_at=rules.expires_at(program.points_expiry, now), note=reason, actor_id=actor)
    else:
        with session.begin_nested():
            if take(session, member, points=-points, kind=MoveKind.adjust, source_key=source_key,
                    note=reason, actor_id=actor) < -points:
                raise InsufficientPoints(f"The member has fewer than {-points} points available.")
    post_points(session, program, kind="points_adjust", source_key=f"points.{source_key}",
                debit=A.points_expense, credit=A.points_liability,
                value_minor=(1 if points > 0 else -1) * points_value_minor(program, abs(points)),
                details={"member_id": str(member.id), "points": points})
    audit(session, scope, "points.adjust", owner_path=member.owner_path, subject_id=member.id,
          points=points, reason=reason)
    return points
