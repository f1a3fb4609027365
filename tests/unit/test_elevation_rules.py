"""The elevation helper without a server: scope restored, objects forgotten, writes flushed (SQLite)."""

import uuid

import pytest
from sqlalchemy import String, create_engine, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.tenancy.elevation import Why, elevated, enter_scope, kept_scope
from app.tenancy.enums import ActorKind
from app.tenancy.scope import Scope, current_scope, system_scope

TENANT = uuid.UUID("00000000-0000-7000-8000-000000000001")
CALLER = Scope(tenant_id=TENANT, actor_kind=ActorKind.consumer, consumer_id=uuid.uuid4())


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(insert(Thing), [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
        enter_scope(session, Why.request, scope=CALLER)
        yield session
    enter_scope(session, Why.request, scope=None)


def test_the_callers_scope_is_current_again_after_the_block_and_after_an_error(session):
    with elevated(session, Why.task, scope=system_scope(TENANT)) as wider:
        assert current_scope() is wider
    assert current_scope() is CALLER
    with pytest.raises(LookupError), elevated(session, Why.task, scope=system_scope(TENANT)):
        raise LookupError
    assert current_scope() is CALLER


def test_objects_first_loaded_in_the_block_leave_the_session_and_earlier_ones_stay(session):
    held = session.get(Thing, 1)
    with elevated(session, Why.task, scope=system_scope(TENANT)):
        loaded = session.get(Thing, 2)
        assert session.get(Thing, 1) is held
    assert held in session and loaded not in session and loaded.name == "two"


def test_a_nested_block_of_the_same_scope_changes_nothing(session):
    system = system_scope(TENANT)
    with elevated(session, Why.reserve_seller_stock, scope=system):
        with elevated(session, Why.quote_prices, scope=system_scope(TENANT)):
            inner = session.get(Thing, 2)
        assert inner in session and current_scope() is system
    assert inner not in session


def test_pending_writes_are_flushed_before_the_scope_is_given_back(session):
    with elevated(session, Why.task, scope=system_scope(TENANT)):
        made = Thing(id=3, name="three")
        session.add(made)
    assert made not in session.new and made in session  # created by the block, not loaded: kept


def test_kept_scope_undoes_whatever_the_block_entered(session):
    with kept_scope():
        enter_scope(session, Why.task, scope=system_scope(TENANT))
    assert current_scope() is CALLER


def test_a_reason_is_required(session):
    with pytest.raises(TypeError):
        enter_scope(session, "because", scope=None)
