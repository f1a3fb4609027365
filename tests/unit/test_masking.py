"""Property tests of personal-data masking: masked never shows the whole value, full shows it as is."""

from hypothesis import given
from hypothesis import strategies as st

from app.tenancy.enums import Fidelity
from app.tenancy.masking import mask_name, mask_phone, mask_text, present

# '*' is the mask character: a value made of it could "contain itself" after masking.
text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="*")
names = st.text(text_chars, min_size=2, max_size=40)
phones = st.one_of(
    st.from_regex(r"\A\+?[0-9]{2,15}\Z"),
    st.from_regex(r"\A1[3-9][0-9]{9}\Z"),  # a mainland mobile number
    st.from_regex(r"\A[0-9]{3,4}-[0-9]{7,8}\Z"),  # a landline with area code
)
PERSONAL = ("name", "phone", "address", "openid")


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
def test_presenting_at_masked_hides_every_personal_field(name, phone, address, openid):
    row = {"id": "c1", "name": name, "phone": phone, "address": address, "openid": openid}
    shown = present(row, Fidelity.masked, PERSONAL)
    assert shown["id"] == "c1"
    assert shown["fidelity"] is Fidelity.masked
    for key in PERSONAL:
        assert row[key] not in shown[key]


@given(names, phones)
def test_presenting_at_full_shows_every_field_unchanged(name, phone):
    row = {"id": "c1", "name": name, "phone": phone}
    assert present(row, Fidelity.full, PERSONAL) == {**row, "fidelity": Fidelity.full}


def test_empty_values_stay_empty_when_masked():
    assert mask_name(None) is None and mask_name("") == ""
    assert mask_phone(None) is None and mask_phone("") == ""
    assert mask_text(None) is None
