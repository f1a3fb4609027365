"""Every money and quantity field of every schema is a strict, bounded integer: 1.5 is 422, never 1."""

import importlib
import pkgutil

import marshmallow as ma
import pytest

import app
from app.schemas import MAX_MINOR, QueryInteger, Schema, StrictInteger

QUANTITY_NAMES = {"counted", "on_hand", "reserved", "reserved_delta", "on_hand_after", "reserved_after"}
MONEY_NAMES = {"balance", "debit_minus_credit"}


def _all_schemas() -> list[type[Schema]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name.rsplit(".", 1)[-1] in {"schemas", "api"} or module.name.endswith("schemas"):
            importlib.import_module(module.name)
    found, todo = set(), [Schema]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def is_money_or_quantity(name: str) -> bool:
    return name.endswith("_minor") or "qty" in name or name in QUANTITY_NAMES | MONEY_NAMES


def numeric_fields():
    for schema in _all_schemas():
        for name, field in schema._declared_fields.items():
            if is_money_or_quantity(name):
                yield schema, name, field
            elif isinstance(field, ma.fields.Dict) and isinstance(field.value_field, ma.fields.Integer):
                yield schema, name, field.value_field


FIELDS = list(numeric_fields())
LOADED = [(schema, name) for schema, name, field in FIELDS
          if not field.dump_only and not isinstance(field, ma.fields.Function | ma.fields.Method)
          and isinstance(schema._declared_fields[name], StrictInteger)]


def test_the_walk_finds_the_money_and_quantity_fields_of_every_domain():
    modules = {schema.__module__ for schema, _, _ in FIELDS}
    assert {"app.orders.schemas", "app.payments.schemas", "app.catalog.schemas",
            "app.finance.schemas"} <= modules
    assert len(LOADED) >= 8


@pytest.mark.parametrize(("schema", "name", "field"), FIELDS,
                         ids=[f"{s.__name__}.{n}" for s, n, _ in FIELDS])
def test_every_money_and_quantity_field_is_the_strict_integer_type(schema, name, field):
    assert isinstance(field, StrictInteger | ma.fields.Function | ma.fields.Method), (
        f"{schema.__name__}.{name} is {type(field).__name__}")


@pytest.mark.parametrize(("schema", "name"), LOADED, ids=[f"{s.__name__}.{n}" for s, n in LOADED])
@pytest.mark.parametrize("value", [1.5, 500.9, 2.0, "7", True, 10**20, -(10**20)])
def test_a_fraction_a_string_a_boolean_or_an_overflow_is_refused_by_every_loaded_field(schema, name, value):
    field = schema._declared_fields[name]
    if isinstance(field, QueryInteger) and value == "7":
        return  # a query string is text: digits are the integer
    with pytest.raises(ma.ValidationError) as error:
        schema().load({name: value}, partial=True)
    assert name in error.value.messages


def test_a_whole_number_within_bounds_loads_as_an_int():
    field = StrictInteger()
    assert field.deserialize(12_800) == 12_800
    assert field.deserialize(MAX_MINOR) == MAX_MINOR


def test_query_integers_take_digits_and_refuse_fractions():
    field = QueryInteger(bound=200)
    assert field.deserialize("50") == 50
    for text in ("1.5", "5e1", "", " 5", "201"):
        with pytest.raises(ma.ValidationError):
            field.deserialize(text)


def test_a_nul_byte_anywhere_in_a_body_is_a_validation_error():
    class Note(Schema):
        note = ma.fields.String()
        tags = ma.fields.List(ma.fields.String())

    with pytest.raises(ma.ValidationError) as error:
        Note().load({"note": "ok", "tags": ["fine", "bad\x00"]})
    assert error.value.messages == {"tags.1": ["NUL bytes are not allowed."]}
