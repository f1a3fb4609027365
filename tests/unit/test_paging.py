"""Cursor paging: opaque signed cursors, refused offsets, and every row exactly once across pages."""

import uuid
from datetime import UTC, datetime, timedelta

import marshmallow as ma
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.db import UtcDateTime, uuid7
from app.paging import CursorKey, PageQuery, decode_cursor, encode_cursor, page_of, paginate
from app.schemas import Schema


@pytest.fixture(autouse=True, scope="module")
def app_context():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "paging-test-secret-key-0123456789abcdef"
    with app.app_context():
        yield app


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(UTC))


@given(moment=moments, row_id=st.uuids())
def test_a_cursor_names_the_same_key_when_read_back(app_context, moment, row_id):
    key = CursorKey(moment, row_id)
    text = encode_cursor(key)
    assert decode_cursor(text) == key
    assert text.isascii() and "=" not in text and "/" not in text and "+" not in text


@settings(max_examples=150)
@given(position=st.integers(0, 49), bit=st.integers(0, 5))
def test_any_changed_character_makes_the_cursor_unreadable(app_context, position, bit):
    text = encode_cursor(CursorKey(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid7()))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    position %= len(text)
    changed = alphabet[alphabet.index(text[position]) ^ (1 << bit)]
    tampered = text[:position] + changed + text[position + 1:]
    if tampered == text:
        return
    with pytest.raises(ValueError):
        decode_cursor(tampered)


def test_a_cursor_signed_with_another_key_is_refused(app_context):
    text = encode_cursor(CursorKey(datetime.now(UTC), uuid7()))
    own = app_context.config["SECRET_KEY"]
    app_context.config["SECRET_KEY"] = "another-secret-key-0123456789abcdefghij"
    try:
        with pytest.raises(ValueError):
            decode_cursor(text)
    finally:
        app_context.config["SECRET_KEY"] = own


@pytest.mark.parametrize("text", ["", "abc", "!!!!", "A" * 52, "x" * 300])
def test_made_up_cursors_are_a_validation_error(text):
    with pytest.raises(ma.ValidationError) as error:
        PageQuery().load({"cursor": text})
    assert "cursor" in error.value.messages


@pytest.mark.parametrize("name", ["offset", "page", "per_page", "starting_after"])
def test_other_paging_styles_are_refused_not_ignored(name):
    with pytest.raises(ma.ValidationError) as error:
        PageQuery(unknown=ma.EXCLUDE).load({name: "7"})
    assert name in error.value.messages


@pytest.mark.parametrize("limit", ["0", "201", "1.5", "-1", "ten"])
def test_limit_stays_a_bounded_integer(limit):
    with pytest.raises(ma.ValidationError):
        PageQuery().load({"limit": limit})


def test_the_query_defaults_to_fifty_from_the_start():
    assert PageQuery().load({}) == {"limit": 50, "cursor": None}


class Item(Schema):
    name = ma.fields.String()


def test_the_envelope_is_one_named_class_per_item_schema():
    assert page_of(Item) is page_of(Item) and page_of(Item).__name__ == "ItemPage"
    dumped = page_of(Item)().dump({"items": [{"name": "a"}], "next_cursor": None, "has_more": False})
    assert dumped == {"items": [{"name": "a"}], "next_cursor": None, "has_more": False}


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    odd: Mapped[bool]


@settings(max_examples=25, deadline=None)
@given(stamps=st.lists(st.integers(0, 5), min_size=0, max_size=40), limit=st.integers(1, 7),
       newest_first=st.booleans())
def test_walking_the_pages_visits_every_row_once_in_order(app_context, stamps, limit, newest_first):
    """Ties on created_at (several rows in one microsecond) are broken by id, so none is lost."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        session.add_all(Row(created_at=start + timedelta(microseconds=s), odd=n % 2 == 1)
                        for n, s in enumerate(stamps))
        session.flush()
        expected = sorted(session.scalars(select(Row).where(Row.odd.is_(False))),
                          key=lambda row: (row.created_at, row.id), reverse=newest_first)
        seen, cursor = [], None
        for _ in range(len(stamps) + 2):
            page = paginate(session, select(Row).where(Row.odd.is_(False)), Row, limit=limit,
                            cursor=cursor and decode_cursor(cursor), newest_first=newest_first)
            seen += page.items
            assert len(page.items) <= limit
            if not page.has_more:
                assert page.next_cursor is None
                break
            cursor = encode_cursor(page.next_key)
        assert [row.id for row in seen] == [row.id for row in expected]


def test_a_select_of_several_columns_pages_rows_keyed_by_the_first(app_context):
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Row(created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n), odd=False)
                        for n in range(3))
        session.flush()
        page = paginate(session, select(Row, Row.odd), Row, limit=2)
        last = page.items[-1][0]
        assert page.has_more and page.next_key == CursorKey(last.created_at, last.id)
