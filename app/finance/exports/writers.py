"""Writing a dataset to a file in bounded memory: CSV through PostgreSQL COPY or row by row, XLSX streamed.

Every writer gets the same SELECT (the registry's, filtered to the scope) and writes the header of
`datasets.header`: each money column followed by its decimal amount. The COPY path computes the
decimal in SQL and is used only when no column needs masking (PostgreSQL cannot call the masking
functions); everything else goes row by row through `app.tenancy.masking` at each row's fidelity.
"""

import csv
import hashlib
import io
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from queue import Full, Queue
from typing import BinaryIO

from iso4217 import Currency
from sqlalchemy import (
    Enum,
    Float,
    Numeric,
    Select,
    String,
    Text,
    Uuid,
    case,
    cast,
    column,
    func,
    literal,
    values,
)
from sqlalchemy.orm import Session

from app.db import UtcDateTime
from app.finance.exports import xlsx
from app.finance.exports.datasets import ExportDataset, header, human_name
from app.money import minor_digits
from app.tenancy.enums import Fidelity
from app.tenancy.masking import mask_name, mask_phone, mask_text
from app.tenancy.scope import Scope

Progress = Callable[[int], None]
MASKS = {"name": mask_name, "phone": mask_phone, "text": mask_text}
FLUSH_BYTES = 1 << 20
ISO_SECONDS = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'  # to_char patterns of datetime.isoformat() in UTC
ISO_MICROSECONDS = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
_END = object()
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit minus the header: more rows continue on a new sheet


class Sink:
    """The output file, hashed (sha256) and measured as it is written."""

    def __init__(self, file: BinaryIO):
        self.file, self.hash, self.size = file, hashlib.sha256(), 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.hash.update(data)
        self.file.write(data)
        self.size += len(data)


# --- amounts -------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _digits(currency: str) -> int:
    return minor_digits(currency)


def decimal_amount(amount_minor: int | None, currency: str) -> Decimal | None:
    """1234 CNY → Decimal('12.34'); JPY 1234 → Decimal('1234')."""
    if amount_minor is None:
        return None
    digits = _digits(currency)
    return Decimal(int(amount_minor)).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def minor_unit_factors():
    """(code, factor) for every ISO 4217 currency whose minor unit is not 1/100: JPY 1, KWD 0.001.

    A VALUES list the database joins by hash: one look-up per row (a CASE over the codes costs a
    collation-aware comparison per code and row, 4x the whole query). The factor's own scale makes
    the product exact: 12345 * 0.01 = 123.45, 500 * 0.01 = 5.00.
    """
    rows = [(c.code, Decimal(1).scaleb(-c.exponent)) for c in Currency if c.exponent not in (None, 2)]
    return values(column("code", String(3)), column("factor", Numeric()), name="minor_units").data(rows)


def with_decimal_columns(dataset: ExportDataset, statement: Select, *, as_float: bool = False) -> Select:
    """The same SELECT with each money column followed by minor units x the currency's factor.

    `as_float`: that exact decimal rounded to the nearest double, as `float_amount` gives it in Python
    (for a spreadsheet cell): an exact product read by a correctly rounded conversion."""
    selected = statement.selected_columns
    units = minor_unit_factors()
    factor = func.coalesce(units.c.factor, literal(Decimal("0.01"), Numeric()))
    columns = []
    for field in dataset.columns:
        columns.append(selected[field.name])
        if field.money:
            amount = cast(selected[field.name], Numeric()) * factor
            columns.append((cast(amount, Float()) if as_float else amount).label(human_name(field)))
    statement = statement.outerjoin(units, units.c.code == selected["currency"])
    if statement._group_by_clauses:  # the factor follows the currency, which is grouped already
        statement = statement.group_by(units.c.factor)
    return statement.with_only_columns(*columns, maintain_column_froms=True)


# --- rows at the asker's fidelity ----------------------------------------------------------------

_SCALES: dict[str, int] = {}


def float_amount(amount_minor: int | None, currency: str) -> float | None:
    """For a spreadsheet cell: a float that Excel shows as the decimal (12345 CNY → 123.45)."""
    if amount_minor is None:
        return None
    scale = _SCALES.get(currency)
    if scale is None:
        scale = _SCALES[currency] = 10 ** _digits(currency)
    return amount_minor / scale


def prefetched(parts: Iterator, depth: int = 2) -> Generator:
    """`parts` fetched by a thread while the caller works on the last one, so that the database's time
    overlaps ours (the thread waits on the socket without the GIL). At most `depth` parts wait: the
    memory stays bounded. The thread has ended when this generator has, however it ended."""
    waiting: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def fetch() -> None:
        try:
            for part in parts:
                if not put(part):
                    return
            put(_END)
        except BaseException as error:  # noqa: BLE001  (raised again in the caller's thread)
            put(error)

    thread = threading.Thread(target=fetch, name="export-fetch", daemon=True)
    thread.start()
    try:
        while (item := waiting.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def presented_rows(session: Session, dataset: ExportDataset, scope: Scope, statement: Select,
                   *, batch: int = 5000, amount=decimal_amount) -> Generator[list, None, None]:
    """Rows in header order: personal columns masked at each row's fidelity, amounts added."""
    view = scope.view(dataset.fidelity_dataset) if dataset.personal else None
    seen: dict[tuple, Fidelity] = {}
    width = len(dataset.columns)
    currency_at = [c.name for c in dataset.columns].index("currency")
    # Each column, then after a money column its amount (a copy of the minor units, replaced below).
    sources = [i for i, column in enumerate(dataset.columns) for _ in range(2 if column.money else 1)]
    order = itemgetter(*sources)
    amounts = [(at, i) for at, i in enumerate(sources) if at and sources[at - 1] == i]
    masks = [(at, i, MASKS[dataset.columns[i].personal]) for at, i in enumerate(sources)
             if dataset.columns[i].personal]
    # The session's own connection (its scope settings apply) without the ORM's per-row work.
    result = session.connection().execute(statement, execution_options={"yield_per": batch})
    for part in prefetched(result.partitions()):
        for row in part:
            out = list(order(row))
            if view is not None:
                paths = tuple(row[width:width + dataset.paths])
                fidelity = seen.get(paths)
                if fidelity is None:
                    fidelity = seen[paths] = max((view.fidelity_at(p) for p in paths if p),
                                                 key=lambda f: f.rank, default=Fidelity.none)
                if fidelity is not Fidelity.full:
                    for at, i, mask in masks:
                        out[at] = mask(row[i])
            currency = row[currency_at]
            for at, _ in amounts:
                out[at] = amount(out[at - 1], currency)  # of the value as shown
            yield out


def texts_from_postgresql(statement: Select) -> Select:
    """The same SELECT with uuids, UTC timestamps and string enums as the text the writers make of them.

    PostgreSQL writes that text faster than Python parses the value and prints it again: `uuid::text`
    is `str(uuid)`, a StrEnum is stored as its value, and `to_char` gives `datetime.isoformat()` in
    UTC (microseconds only when there are some). Half the fetch time of an XLSX export.
    """
    columns = []
    for selected in statement.selected_columns:
        kind = selected.type
        if isinstance(kind, Uuid):
            selected = cast(selected, Text).label(selected.name)
        elif isinstance(kind, UtcDateTime):
            utc = func.timezone("UTC", selected)
            iso = case((func.to_char(utc, "US") == "000000", func.to_char(utc, ISO_SECONDS)),
                       else_=func.to_char(utc, ISO_MICROSECONDS))
            selected = iso.label(selected.name)
        elif isinstance(kind, Enum) and kind.enum_class is not None and issubclass(kind.enum_class, StrEnum):
            selected = cast(selected, Text).label(selected.name)
        columns.append(selected)
    return statement.with_only_columns(*columns, maintain_column_froms=True)


def _text(value) -> object:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- CSV -----------------------------------------------------------------------------------------

def write_csv_rows(session: Session, dataset: ExportDataset, scope: Scope, statement: Select,
                   sink: Sink, progress: Progress) -> int:
    """CSV row by row (SQLite, and datasets with personal columns); UTF-8 with a BOM for Excel."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    sink.write("\ufeff".encode())
    writer.writerow(header(dataset))
    rows = 0
    with closing(presented_rows(session, dataset, scope, statement)) as presented:  # ends its thread
        for row in presented:
            writer.writerow([_text(value) for value in row])
            rows += 1
            if text.tell() >= FLUSH_BYTES:
                sink.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
                progress(rows)
    sink.write(text.getvalue().encode())
    return rows


def compiled_sql(session: Session, statement: Select) -> tuple[str, dict]:
    """SQL text and driver-ready parameters (bind processors applied) for psycopg."""
    compiled = statement.compile(dialect=session.get_bind().dialect,
                                 compile_kwargs={"render_postcompile": True})
    processors = compiled._bind_processors
    params = {key: processors[key](value) if key in processors else value
              for key, value in compiled.params.items()}
    return str(compiled), params


def write_csv_copy(session: Session, dataset: ExportDataset, statement: Select, sink: Sink,
                   progress: Progress) -> int:
    """CSV by `COPY (query) TO STDOUT` on this session's connection: its scope settings (RLS) apply."""
    sql, params = compiled_sql(session, with_decimal_columns(dataset, statement))
    raw = session.connection().connection.dbapi_connection
    sink.write("\ufeff".encode())
    newlines, pending, last = 0, bytearray(), time.monotonic()
    with raw.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)", params) as copy:
            for chunk in copy:
                pending += chunk
                if len(pending) >= FLUSH_BYTES:
                    newlines += pending.count(b"\n")
                    sink.write(pending)
                    pending = bytearray()
                    if time.monotonic() - last >= 1:
                        progress(max(newlines - 1, 0))
                        last = time.monotonic()
    newlines += pending.count(b"\n")
    sink.write(pending)
    # Rows, not lines: a field with a line break (a bank reference) would count twice.
    return max(newlines - 1, 0)


# --- XLSX ----------------------------------------------------------------------------------------

def fetched_rows(session: Session, statement: Select, *, batch: int = 5000) -> Generator:
    """The rows of `statement` as they are, from the session's own connection, a batch at a time."""
    result = session.connection().execute(statement, execution_options={"yield_per": batch})
    for part in prefetched(result.partitions()):
        yield from part


def write_xlsx(session: Session, dataset: ExportDataset, scope: Scope, statement: Select, path: str,
               progress: Progress) -> int:
    """XLSX in constant memory: rows streamed into the zip at `path` by our own writer (`xlsx.py`).

    On PostgreSQL without personal columns (the COPY path of the CSV), the database gives every value
    as the cell takes it: amounts as doubles, uuids, timestamps and enums as text; rows go to the
    sheet untouched. Otherwise they are presented in Python, at the asker's fidelity.
    The decimal amount columns take the number format of the first row's currency (set on the
    column); a row in a currency with another exponent formats its amount cells itself.
    """
    names = header(dataset)
    amount_columns = {i for i, name in enumerate(names)
                      if any(c.money and human_name(c) == name for c in dataset.columns)}
    currency_at = names.index("currency")
    book = xlsx.Workbook(path)
    styles = {}
    for digits in (0, 2, 3, 4):
        style = book.number_style("0." + "0" * digits if digits else "0")
        styles[digits] = tuple(style if i in amount_columns else 0 for i in range(len(names)))
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and not dataset.personal:
        statement = with_decimal_columns(dataset, statement, as_float=True)
        rows_in = fetched_rows(session, texts_from_postgresql(statement))
    else:
        if postgresql:
            statement = texts_from_postgresql(statement)
        rows_in = presented_rows(session, dataset, scope, statement, amount=float_amount)
    digits_of: dict[str, int] = {}
    sheet, column_digits, rows, last = None, None, 0, time.monotonic()
    try:
        for row in rows_in:
            currency = row[currency_at]
            digits = digits_of.get(currency)
            if digits is None:
                digits = digits_of[currency] = _digits(currency)
            if sheet is None or sheet.rows > XLSX_MAX_ROWS:
                sheet = book.add_sheet(f"{dataset.name[:25]}_{rows // XLSX_MAX_ROWS + 1}", styles[digits])
                column_digits = digits
                sheet.append(names)
            sheet.append(row, None if digits == column_digits else styles[digits])
            rows += 1
            if rows % 10_000 == 0 and time.monotonic() - last >= 1:
                progress(rows)
                last = time.monotonic()
        if sheet is None:
            book.add_sheet(f"{dataset.name[:25]}_1", [0] * len(names)).append(names)
    except BaseException:
        rows_in.close()  # ends the fetching thread before the caller rolls back
        book.abandon()
        raise
    book.close()
    return rows


def hash_file(path: str) -> tuple[int, str]:
    """(size, sha256) of a written file, read in bounded chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(FLUSH_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
