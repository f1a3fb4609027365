"""Schema base and the strict number fields: unknown fields, NUL bytes and 1.5 units are 422."""

import re

import marshmallow as ma

MAX_MINOR = 10**15  # money in minor units: far beyond any order, well inside BIGINT
MAX_QTY = 1_000_000  # units of one line, stock counts and changes


class StrictInteger(ma.fields.Integer):
    """A JSON integer, bounded: 1.5, 2.0, "7" and true are refused (422), never truncated.

    Every money (`*_minor`) and quantity field of every schema is one of these; the bound keeps
    10^20 from reaching the database (where it would be an overflow, not a validation error).
    """

    default_error_messages = {"bounds": "Must be between {low} and {high}."}

    def __init__(self, *, bound: int = MAX_MINOR, **kwargs):
        super().__init__(strict=True, **kwargs)
        self.bound = bound

    def _validated(self, value):
        number = super()._validated(value)
        if number is not None and not -self.bound <= number <= self.bound:
            raise self.make_error("bounds", low=-self.bound, high=self.bound)
        return number


def Money(**kwargs) -> StrictInteger:  # noqa: N802  (reads as a field type)
    """Minor units (fen, cents)."""
    return StrictInteger(bound=MAX_MINOR, **kwargs)


def Quantity(**kwargs) -> StrictInteger:  # noqa: N802
    return StrictInteger(bound=MAX_QTY, **kwargs)


class QueryInteger(StrictInteger):
    """The same in a query string, where every value is text: digits only ("1.5" is 422)."""

    _DIGITS = re.compile(r"[+-]?\d{1,18}")

    def _validated(self, value):
        if isinstance(value, str):
            if not self._DIGITS.fullmatch(value):
                raise self.make_error("invalid")
            value = int(value)
        return super()._validated(value)


def _nul_errors(value, path: str = "") -> dict:
    if isinstance(value, str):
        return {path or "_schema": ["NUL bytes are not allowed."]} if "\x00" in value else {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    errors: dict = {}
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            errors[path or "_schema"] = ["NUL bytes are not allowed."]
        errors.update(_nul_errors(item, f"{path}.{key}" if path else str(key)))
    return errors


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul_bytes(self, data, **kwargs):
        """PostgreSQL cannot store NUL in text: refuse it here (422), not at the database (409)."""
        errors = _nul_errors(data)
        if errors:
            raise ma.ValidationError(errors)
        return data
