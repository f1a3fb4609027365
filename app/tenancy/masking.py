"""Personal data shown at the fidelity in scope, decided when a response is serialised.

Services return raw rows. A response schema that shows rows of a dataset subclasses
`ScopedSchema` and says how one row's fidelity is found in the caller's scope
(`row_fidelity(scope, row)`); its personal fields are declared with `MaskedName`,
`MaskedPhone` or `MaskedText` (free text someone typed: `RedactedText`), and `RowFidelity()`
shows the fidelity itself. Schemas nested inside a scoped row (an order's address, its
history) mask at that row's fidelity.

Fail closed: a masked field dumped outside any scoped row, or with no scope at all, masks.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import marshmallow as ma

from app.schemas import Schema
from app.tenancy.enums import Fidelity
from app.tenancy.scope import Scope, current_scope


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """A mobile number (11+ characters) keeps its first 3 and last 4; anything shorter keeps at
    most a quarter at each end, so at least half of it is hidden (a short number is guessable)."""
    if not phone:
        return phone
    digits = phone.strip()
    n = len(digits)
    if n <= 4:
        return "*" * n
    head, tail = (3, 4) if n >= 11 else (n // 4, n // 4)
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail:]


def mask_text(value: str | None) -> str | None:
    return "***" if value else value


# The fidelity of the row being dumped; None outside any scoped row (fields then mask).
_row_fidelity: ContextVar[Fidelity | None] = ContextVar("tiermall_row_fidelity", default=None)


def dumping_fidelity() -> Fidelity:
    return _row_fidelity.get() or Fidelity.none


@contextmanager
def at_fidelity(fidelity: Fidelity) -> Iterator[None]:
    """Dump at a fixed fidelity (tests; an export that has already decided it)."""
    token = _row_fidelity.set(fidelity)
    try:
        yield
    finally:
        _row_fidelity.reset(token)


class ScopedSchema(Schema):
    """A response schema of rows whose personal data depends on the caller's scope.

    Subclasses define `row_fidelity(scope, row)`; `row` is what the service returned (a model
    object or a dict). No scope at all (nothing resolved a caller) means `none`: everything masks.
    """

    @staticmethod
    def row_fidelity(scope: Scope, row) -> Fidelity:
        raise NotImplementedError("a ScopedSchema says how a row's fidelity is found")

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        scope = current_scope()
        fidelity = self.row_fidelity(scope, obj) if scope is not None else Fidelity.none
        with at_fidelity(fidelity):
            return super()._serialize(obj, many=False)


class _Masked(ma.fields.String):
    """A string shown as is at `full` fidelity and through `mask` below it."""

    description = "Personal data: masked below full fidelity"

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        metadata = kwargs.pop("metadata", {})
        super().__init__(metadata={"description": self.description, **metadata}, **kwargs)

    @staticmethod
    def mask(value: str | None) -> str | None:
        return mask_text(value)

    def _serialize(self, value, attr, obj, **kwargs):
        shown = super()._serialize(value, attr, obj, **kwargs)
        return shown if dumping_fidelity() is Fidelity.full else self.mask(shown)


class MaskedName(_Masked):
    """A person's name: `王**` below full (first character kept)."""

    mask = staticmethod(mask_name)


class MaskedPhone(_Masked):
    """A phone number: `138****8001` below full (see `mask_phone`)."""

    mask = staticmethod(mask_phone)


class MaskedText(_Masked):
    """Any other personal value (an address, an openid): `***` below full."""


class RedactedText(_Masked):
    """Free text someone typed (notes, reasons): it can hold anything personal, so `***` below full."""

    description = "Free text: hidden whole below full fidelity"


class RowFidelity(ma.fields.Enum):
    """The fidelity this row is shown at (dump only; read from the row being dumped)."""

    def __init__(self, **kwargs):
        metadata = {"description": "How much of this row you see", **kwargs.pop("metadata", {})}
        super().__init__(Fidelity, dump_only=True, metadata=metadata, **kwargs)

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self._serialize(dumping_fidelity(), attr, obj, **kwargs)
