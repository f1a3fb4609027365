"""Property tests of personal-data masking: masked never shows the whole value, full shows it as is."""

import marshmallow as ma
from hypothesis import given
from hypothesis import strategies as st

from app.tenancy.enums import ActorKind, Fidelity
from app.tenancy.masking import (
    MaskedName,
    MaskedPhone,
    MaskedText,
    RowFidelity,
    ScopedSchema,
    at_fidelity,
    mask_name,
    mask_phone,
    mask_text,
)
from app.tenancy.scope import Scope, set_current_scope

# '*' is the mask character: a value made of it could "contain itself" after masking.
text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="*")
names = st.text(text_chars, min_size=2, max_size=40)
phones = st.one_of(
    st.from_regex(r"\A\+?[0-9]{2,15}\Z"),
    st.from_regex(r"\A1[3-9][0-9]{9}\Z"),  # a mainland mobile number
    st.from_regex(r"\A[0-9]{3,4}-[0-9]{7,8}\Z"),  # a landline with area code
)
PERSONAL = ("name", "phone", "address", "openid")


class PersonOut(ScopedSchema):
    """A response schema as a domain would write one: the row says its own fidelity here."""

    row_fidelity = staticmethod(lambda scope, row: row["seen_at"])

    id = ma.fields.String()
    name = MaskedName()
    phone = MaskedPhone()
    address = MaskedText()
    openid = MaskedText()
    fidelity = RowFidelity()


def dump_at(fidelity: Fidelity, row: dict) -> dict:
    set_current_scope(Scope(tenant_id=None, actor_kind=ActorKind.staff))
    try:
        return PersonOut().dump({**row, "seen_at": fidelity})
    finally:
        set_current_scope(None)


@given(names)
def test_a_masked_name_never_contains_the_whole_name(name):
    masked = mask_name(name)
    assert name not in masked
    assert len(masked) == len(name)


@given(phones)
def test_a_masked_phone_never_contains_the_whole_phone(phone):
    masked = mask_phone(phone)
    assert phone not in masked
    assert len(masked) == len(phone)


@given(phones)
def test_a_masked_mobile_number_shows_at_most_its_first_three_and_last_four_digits(phone):
    visible_digits = sum(ch != "*" for ch in mask_phone(phone))
    assert visible_digits <= min(7, len(phone) - 1)


@given(st.text(text_chars, min_size=1, max_size=80))
def test_masked_free_text_shows_nothing_of_the_original(value):
    assert mask_text(value) == "***"


@given(names, phones, st.text(text_chars, min_size=2), st.text(text_chars, min_size=2))
def test_dumping_at_masked_hides_every_personal_field(name, phone, address, openid):
    row = {"id": "c1", "name": name, "phone": phone, "address": address, "openid": openid}
    shown = dump_at(Fidelity.masked, row)
    assert shown["id"] == "c1"
    assert shown["fidelity"] == "masked"
    for key in PERSONAL:
        assert row[key] not in shown[key]


@given(names, phones, st.text(text_chars, min_size=2), st.text(text_chars, min_size=2))
def test_dumping_at_full_shows_every_field_unchanged(name, phone, address, openid):
    row = {"id": "c1", "name": name, "phone": phone, "address": address, "openid": openid}
    assert dump_at(Fidelity.full, row) == {**row, "fidelity": "full"}


def test_each_row_of_a_list_is_masked_at_its_own_fidelity():
    set_current_scope(Scope(tenant_id=None, actor_kind=ActorKind.staff))
    try:
        shown = PersonOut(many=True).dump([
            {"id": "mine", "name": "王小明", "seen_at": Fidelity.full},
            {"id": "below", "name": "王小明", "seen_at": Fidelity.masked}])
    finally:
        set_current_scope(None)
    assert [(row["name"], row["fidelity"]) for row in shown] == [("王小明", "full"), ("王**", "masked")]


def test_without_a_scope_or_outside_a_scoped_row_every_personal_field_masks():
    row = {"id": "c1", "name": "王小明", "phone": "13800138000", "seen_at": Fidelity.full}
    set_current_scope(None)
    assert PersonOut(only=("name", "phone", "fidelity")).dump(row) == {
        "name": "王**", "phone": "138****8000", "fidelity": "none"}

    class Unscoped(ma.Schema):
        name = MaskedName()

    assert Unscoped().dump(row) == {"name": "王**"}
    with at_fidelity(Fidelity.full):
        assert Unscoped().dump(row) == {"name": "王小明"}


def test_empty_values_stay_empty_when_masked():
    assert mask_name(None) is None and mask_name("") == ""
    assert mask_phone(None) is None and mask_phone("") == ""
    assert mask_text(None) is None
