"""Birthday gift points (a level benefit): once a year per member, on their birthday (UTC date).

Few members have a birthday on a given day (about 1/365 of them), so the day's gifts go through
`points.credit` one member at a time: a gift repays a points debt first, like any earning. The
lot's source key `birthday:<member>:<year>` makes a second run on the same day give nothing.
"""

import calendar
import uuid
from datetime import date

from sqlalchemy import extract, or_, select
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance.models import AccountCode
from app.membership import rules
from app.membership.models import LotStatus, Member, MemberLevel, MoveKind, PointsLot
from app.membership.points import credit
from app.membership.postings import post_points
from app.membership.programs import points_value_minor, program_for


def birthdays_on(day: date):
    """Members born on `day` (on 28 February of a common year, also those born on 29 February)."""
    same_day = (extract("month", Member.birthday) == day.month) & (extract("day", Member.birthday) == day.day)
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        leap_day = (extract("month", Member.birthday) == 2) & (extract("day", Member.birthday) == 29)
        return or_(same_day, leap_day)
    return same_day


def grant_birthday_gifts(session: Session, tenant_id: uuid.UUID, *, today: date | None = None) -> int:
    """Give today's birthday members their level's gift points; the points given."""
    program = program_for(session, tenant_id)
    if program is None or not program.active:
        return 0
    today = today or utcnow().date()
    due = session.execute(
        select(Member, MemberLevel.birthday_gift_points)
        .join(MemberLevel, (MemberLevel.tenant_id == Member.tenant_id) & (MemberLevel.id == Member.level_id))
        .where(Member.tenant_id == tenant_id, Member.birthday.is_not(None), birthdays_on(today),
               MemberLevel.birthday_gift_points > 0)).all()
    keys = {member.id: f"birthday:{member.id}:{today.year}" for member, _ in due}
    given_before = set(session.scalars(select(PointsLot.source_key).where(
        PointsLot.tenant_id == tenant_id, PointsLot.source_key.in_(list(keys.values()))))) if keys else set()
    now, total = utcnow(), 0
    for member, gift in due:
        if keys[member.id] in given_before:
            continue
        credit(session, member, points=gift, origin="birthday", kind=MoveKind.adjust,
               source_key=keys[member.id],
               status=LotStatus.available, available_at=now,
               expires_at=rules.expires_at(program.points_expiry, now), note="birthday gift")
        total += gift
    post_points(session, program, kind="points_birthday", source_key=f"points.birthday:{today}:{uuid7()}",
                debit=AccountCode.points_expense, credit=AccountCode.points_liability,
                value_minor=points_value_minor(program, total),
                details={"day": today.isoformat(), "points": total})
    return total
