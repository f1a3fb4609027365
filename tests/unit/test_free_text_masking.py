"""Free text and short numbers below full fidelity: nothing a consumer typed comes back raw."""

import marshmallow as ma
from hypothesis import given
from hypothesis import strategies as st

from app.tenancy.enums import Fidelity
from app.tenancy.masking import RedactedText, at_fidelity, mask_phone

NOTE = "call me on 13900139003, 衡山路 10 号"


class NotesOut(ma.Schema):
    id = ma.fields.Integer()
    note = RedactedText()
    reason = RedactedText()
    status = ma.fields.String()


def test_free_text_is_redacted_whole_below_full_and_kept_at_full():
    row = {"id": 1, "note": NOTE, "reason": "broken", "status": "paid"}
    for fidelity in (Fidelity.masked, Fidelity.aggregate, Fidelity.none):
        with at_fidelity(fidelity):
            assert NotesOut().dump(row) == {"id": 1, "note": "***", "reason": "***", "status": "paid"}
    with at_fidelity(Fidelity.full):
        assert NotesOut().dump(row) == row
    with at_fidelity(Fidelity.masked):
        assert NotesOut(only=("note",)).dump({"note": None}) == {"note": None}


@given(st.from_regex(r"\A[0-9]{1,10}\Z"))
def test_a_short_number_shows_at_most_half_of_its_digits(number):
    masked = mask_phone(number)
    assert len(masked) == len(number)
    assert sum(ch != "*" for ch in masked) * 2 <= len(number)


def test_a_mobile_number_keeps_the_usual_three_and_four():
    assert mask_phone("13900139003") == "139****9003"
    assert mask_phone("12345") == "1***5"
    assert mask_phone("87654321") == "87****21"
