"""Membership and distribution mask in their response schemas: services hand over raw rows."""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app.distribution.schemas import PromoterRowOut, TeamMemberOut
from app.membership.schemas import MemberOut
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.scope import set_current_scope

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class PathScope:
    """A caller who sees consumers under `/full/` in full and everything else masked."""

    def fidelity(self, dataset: Dataset, path: str) -> Fidelity:
        assert dataset is Dataset.consumers
        return Fidelity.full if path.startswith("/full/") else Fidelity.masked


@pytest.fixture
def scope():
    set_current_scope(PathScope())
    yield
    set_current_scope(None)


def member(path: str) -> dict:
    return {"id": uuid.uuid4(), "consumer_id": uuid.uuid4(), "home_store_id": None, "level_id": None,
            "name": "张伟", "phone": "13900002222", "birthday": "1990-05-01", "growth": 0,
            "points_available": 0, "points_pending": 0, "points_debt": 0, "level_since": NOW,
            "grace_until": None, "created_at": NOW, "owner_path": path}


def test_members_mask_name_phone_and_birthday_at_each_rows_store(scope):
    shown = MemberOut(many=True).dump([member("/full/s1/"), member("/other/s2/")])
    assert [(r["name"], r["phone"], r["birthday"], r["fidelity"]) for r in shown] == [
        ("张伟", "13900002222", "1990-05-01", "full"), ("张*", "139****2222", "***", "masked")]
    assert "owner_path" not in shown[0]


def test_a_member_dumped_without_a_scope_masks():
    assert MemberOut().dump(member("/full/s1/"))["name"] == "张*"


def test_promoter_names_mask_below_full_consumers_fidelity(scope):
    def row(path):
        return {"promoter": SimpleNamespace(id=uuid.uuid4(), owner_path=path, created_at=NOW), "name": "李娜"}

    shown = PromoterRowOut(many=True).dump([row("/full/s1/"), row("/other/s2/")])
    assert [(r["name"], r["fidelity"]) for r in shown] == [("李娜", "full"), ("李*", "masked")]


def test_a_promoters_team_is_always_masked_even_for_a_caller_who_sees_everything(scope):
    shown = TeamMemberOut(many=True).dump([{"name": "王小明", "bound_at": NOW, "source": None}])
    assert shown[0]["name"] == "王**"
