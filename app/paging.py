"""Cursor paging on (created_at, id), like Stripe's `starting_after`: page 1,000 costs what page 1 costs.

Offset paging reads and discards every skipped row; a cursor names the last row of the previous
page and the next page starts right after it, through the same (tenant_id, ..., created_at) index.

How a list uses it (three pieces):

    # schemas.py — the query: `limit` (1..200, default 50) and `cursor`; add filters as fields
    class OrderListQuery(PageQuery):
        status = ma.fields.Enum(OrderStatus, load_default=None)

    # queries.py — the service: build the filtered select, let `paginate` order, cut and fetch
    def list_orders(session, scope, *, status=None, limit=50, cursor=None) -> Page[Order]:
        statement = select(Order).where(visible(Order, scope))
        return paginate(session, statement, Order, limit=limit, cursor=cursor)

    # api.py — the view: the envelope {items, next_cursor, has_more} around the item schema
    @blp.arguments(OrderListQuery, location="query")
    @blp.response(200, page_of(OrderSummaryOut))
    def get(self, query):
        return queries.list_orders(db.session, staff_only(), **query)

`Page.map(fn)` turns the rows into what the item schema dumps (`page.map(refund_detail)`).
The client passes `next_cursor` back as `cursor` while `has_more` is true.

Rules: the cursor is opaque (base64url of created_at + id, signed with the app's SECRET_KEY,
so a changed or made-up cursor is a 422, not a jump into another position); `offset`, `page`
and the other paging styles are refused with 422 rather than silently ignored (a client that
asks for page 7 and gets page 1 loops forever). Newest first by default (`newest_first=False`
for queues read oldest first). Portable: the row comparison runs on PostgreSQL and SQLite.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

import marshmallow as ma
from flask import current_app
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from app.schemas import QueryInteger, Schema

T = TypeVar("T")
U = TypeVar("U")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
# Paging styles other APIs use: named here so that they are refused, never ignored.
FOREIGN_PAGING = ("offset", "page", "page_size", "per_page", "skip", "start", "starting_after",
                  "ending_before", "after", "before", "page_token", "marker")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION = 1
_PAYLOAD = struct.Struct(">Bq16s")  # version, microseconds since the epoch, uuid bytes
_MAC_BYTES = 12


@dataclass(frozen=True)
class CursorKey:
    """The position a page starts after: the sort key of the last row of the previous page."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its rows, whether more follow, and the key the next page starts after."""

    items: list[T]
    has_more: bool
    next_key: CursorKey | None

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return Page([fn(item) for item in self.items], self.has_more, self.next_key)

    def where(self, keep: Callable[[T], bool]) -> Page[T]:
        """Drop rows after the fetch (a page may come out short; the cursor still moves on)."""
        return Page([item for item in self.items if keep(item)], self.has_more, self.next_key)

    @property
    def next_cursor(self) -> CursorKey | None:  # what the envelope schema dumps (as text)
        return self.next_key


def _mac(payload: bytes) -> bytes:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"tiermall-page-cursor" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(key: CursorKey) -> str:
    moment = key.created_at.astimezone(UTC) - _EPOCH
    micros = (moment.days * 86_400 + moment.seconds) * 1_000_000 + moment.microseconds
    payload = _PAYLOAD.pack(_VERSION, micros, key.id.bytes)
    return base64.urlsafe_b64encode(payload + _mac(payload)).rstrip(b"=").decode()


def decode_cursor(text: str) -> CursorKey:
    """The key a cursor names; ValueError if it is malformed, altered or signed by another key."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not a cursor") from error
    payload, mac = raw[:_PAYLOAD.size], raw[_PAYLOAD.size:]
    canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == text  # no spare bits changed
    if not canonical or len(raw) != _PAYLOAD.size + _MAC_BYTES or not hmac.compare_digest(mac, _mac(payload)):
        raise ValueError("not a cursor")
    version, micros, id_bytes = _PAYLOAD.unpack(payload)
    if version != _VERSION:
        raise ValueError("not a cursor")
    return CursorKey(_EPOCH + timedelta(microseconds=micros), uuid.UUID(bytes=id_bytes))


class Cursor(ma.fields.Field):
    """An opaque page cursor in a query string or a response."""

    default_error_messages = {"invalid": "Not a cursor of this list: pass `next_cursor` back unchanged."}

    def _serialize(self, value: CursorKey | None, attr, obj, **kwargs) -> str | None:
        return None if value is None else encode_cursor(value)

    def _deserialize(self, value, attr, data, **kwargs) -> CursorKey:
        if not isinstance(value, str) or len(value) > 200:
            raise self.make_error("invalid")
        try:
            return decode_cursor(value)
        except ValueError as error:
            raise self.make_error("invalid") from error


class PageQuery(Schema):
    """`limit` and `cursor`; subclass it to add a list's filters."""

    limit = QueryInteger(load_default=DEFAULT_LIMIT, bound=MAX_LIMIT,
                         validate=ma.validate.Range(1, MAX_LIMIT),
                         metadata={"description": f"Rows per page, 1 to {MAX_LIMIT}"})
    cursor = Cursor(load_default=None, metadata={
        "type": "string", "description": "`next_cursor` of the previous page; absent for the first page"})

    @ma.pre_load
    def _refuse_foreign_paging(self, data, **kwargs):
        """Query strings usually drop unknown keys: these ones would silently answer page 1."""
        refused = {key: ["Lists page by `cursor` (the previous page's `next_cursor`) and `limit`."]
                   for key in FOREIGN_PAGING if key in data and key not in self.fields}
        if refused:
            raise ma.ValidationError(refused)
        return data


@cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response envelope `{items, next_cursor, has_more}` around one item schema (one class
    per item schema, so the OpenAPI document names it once: `<Item>Page`)."""
    name = item_schema.__name__.removesuffix("Schema").removesuffix("Out") + "Page"
    return type(name, (Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": Cursor(allow_none=True, metadata={
            "type": "string", "nullable": True,
            "description": "Pass as `cursor` for the next page; null on the last"}),
        "has_more": ma.fields.Boolean(required=True),
        "__doc__": f"A page of {item_schema.__name__} rows, newest first.",
    })


def after(model: Any, key: CursorKey, *, newest_first: bool = True, by_id: bool = False):
    """Rows strictly after `key` in the list's order. Portable AND/OR rather than a row value;
    the plain `created_at <= bound` in front is what the (tenant_id, path, created_at) indexes use."""
    if by_id:
        return model.id < key.id if newest_first else model.id > key.id
    if newest_first:
        return and_(model.created_at <= key.created_at,
                    or_(model.created_at < key.created_at, model.id < key.id))
    return and_(model.created_at >= key.created_at,
                or_(model.created_at > key.created_at, model.id > key.id))


def paginate(session: Session, statement: Select, model: Any, *, limit: int,
             cursor: CursorKey | None = None, newest_first: bool = True,
             key: Callable[[Any], Any] | None = None, by_id: bool = False) -> Page:
    """Order `statement` by (created_at, id), start after `cursor`, fetch one row more than
    `limit` to learn whether another page follows. `model` is the entity (or aliased table)
    whose columns key the order. A select of one entity pages its objects; a select of several
    columns pages Row tuples, and `key(row)` names the keyed object (default: `row[0]`).
    `by_id=True` keys on the UUIDv7 id alone (time-ordered too), for a table without created_at."""
    if cursor is not None:
        statement = statement.where(after(model, cursor, newest_first=newest_first, by_id=by_id))
    columns = (model.id,) if by_id else (model.created_at, model.id)
    order = tuple(column.desc() for column in columns) if newest_first else columns
    statement = statement.order_by(None).order_by(*order).limit(limit + 1)
    single = len(statement.column_descriptions) == 1
    rows: Sequence = (session.scalars(statement) if single else session.execute(statement)).all()
    items = list(rows[:limit])
    has_more = len(rows) > limit
    if not has_more:
        return Page(items, False, None)
    last = items[-1] if single else (key or (lambda row: row[0]))(items[-1])
    return Page(items, True, CursorKey(_EPOCH if by_id else last.created_at, last.id))
