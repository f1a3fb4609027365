"""Our streaming XLSX writer: what openpyxl reads back, and XML that parses, whatever the text holds."""

import enum
import uuid
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
import pytest

from app.finance.exports import xlsx


class Kind(enum.StrEnum):
    sale = "order_payment"


def write(path, rows, *, styles=None, width=None):
    book = xlsx.Workbook(str(path))
    money = book.number_style("0.00")
    width = width or max(len(row) for row in rows)
    sheet = book.add_sheet("data_1", styles or [0] * (width - 1) + [money])
    for row in rows:
        sheet.append(row)
    book.close()
    return path


def read(path, sheet=0):
    book = openpyxl.load_workbook(path)
    return [list(row) for row in book.worksheets[sheet].iter_rows(values_only=True)]


def parts_parse(path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        for name in names:
            ElementTree.fromstring(archive.read(name))  # raises on XML that does not parse
    return names


def test_a_header_then_numbers_text_and_empty_cells_read_back_as_written(tmp_path):
    path = write(tmp_path / "a.xlsx", [["id", "note", "qty", "amount"],
                                       ["a1", None, 3, 123.45],
                                       ["a2", "", -7, None],
                                       ["a3", "plain", 12_345_678_901, 0.1 + 0.2]])
    assert read(path) == [["id", "note", "qty", "amount"],
                          ["a1", None, 3, 123.45],
                          ["a2", None, -7, None],
                          ["a3", "plain", 12_345_678_901, 0.1 + 0.2]]
    assert set(parts_parse(path)) == {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                                      "xl/styles.xml", "xl/_rels/workbook.xml.rels",
                                      "xl/worksheets/sheet1.xml"}


def test_amount_cells_carry_their_number_format_and_a_row_may_carry_its_own(tmp_path):
    book = xlsx.Workbook(str(tmp_path / "f.xlsx"))
    cents, whole = book.number_style("0.00"), book.number_style("0")
    sheet = book.add_sheet("data_1", [0, cents])
    sheet.append(["CNY", 1.5])
    sheet.append(["JPY", 1500], (0, whole))
    book.close()
    cells = openpyxl.load_workbook(tmp_path / "f.xlsx").worksheets[0]
    assert [cells["B1"].number_format, cells["B2"].number_format] == ["0.00", "0"]
    assert cells["A1"].number_format == "General"


def test_xml_special_characters_are_escaped_and_read_back_intact(tmp_path):
    texts = ["A&B <Ltd> \"q\" 'a'", "a]]>b", "<t></t>", "5 > 3 & 2 < 4", "1|2||3", "{0} {r} {{v1}}"]
    path = write(tmp_path / "x.xlsx", [[text, 1] for text in texts])
    assert [row[0] for row in read(path)] == texts
    parts_parse(path)


def test_characters_xml_cannot_carry_are_dropped_and_line_breaks_tabs_kept(tmp_path):
    path = write(tmp_path / "c.xlsx", [["bell\x07 nul\x00 esc\x1b vt\x0b ff\x0c", 1],
                                       ["line\nbreak\ttab", 2],
                                       ["lone \ud800 surrogate \ufffe", 3],
                                       ["windows\r\nline", 4]])
    assert [row[0] for row in read(path)] == ["bell nul esc vt ff", "line\nbreak\ttab", "lone  surrogate ",
                                              "windows\r\nline"]
    parts_parse(path)


def test_spaces_at_either_end_are_kept(tmp_path):
    path = write(tmp_path / "s.xlsx", [[" lead", 1], ["trail ", 2], ["  ", 3], ["\u3000全角", 4]])
    assert [row[0] for row in read(path)] == [" lead", "trail ", "  ", "\u3000全角"]


def test_formula_looking_text_stays_text(tmp_path):
    texts = ["=SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "=1+1"]
    path = write(tmp_path / "f.xlsx", [[text, 1] for text in texts])
    book = openpyxl.load_workbook(path)
    cells = [row[0] for row in book.worksheets[0].iter_rows()]
    assert [cell.value for cell in cells] == texts
    assert {cell.data_type for cell in cells} == {"s"}  # text, never a formula ("f")
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_excels_own_escape_in_the_text_is_escaped_for_excel(tmp_path):
    """Excel reads _x0041_ as "A"; the writer escapes the underscore (_x005F_) as XlsxWriter did.
    openpyxl does not decode these, so it shows the escaped form."""
    path = write(tmp_path / "e.xlsx", [["code _x0041_ here", 1], ["snake_x_case", 2]])
    assert [row[0] for row in read(path)] == ["code _x005F_x0041_ here", "snake_x_case"]


def test_text_is_cut_at_excels_cell_limit(tmp_path):
    path = write(tmp_path / "l.xlsx", [["x" * 40_000, 1], ["😀" * 20_000, 2], ["y" * 32_767, 3]])
    lengths = [len(row[0].encode("utf-16-le")) // 2 for row in read(path)]
    assert lengths == [32_767, 32_766, 32_767]


def test_other_values_are_written_as_text_the_way_the_csv_writes_them(tmp_path):
    value = uuid.UUID("01a2358e-b5b1-712d-918c-e7e95b6d286c")
    at = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    path = write(tmp_path / "o.xlsx", [[value, at, date(2026, 1, 2), Kind.sale, Decimal("1.50"), True, 1]])
    assert read(path) == [[str(value), "2026-01-02T03:04:05.000600+00:00", "2026-01-02", "order_payment",
                           "1.50", "True", 1]]


def test_sheets_follow_one_another_with_their_own_names_and_rows(tmp_path):
    path = tmp_path / "m.xlsx"
    book = xlsx.Workbook(str(path))
    for n in (1, 2, 3):
        sheet = book.add_sheet(f"journal_lines_{n}", [0, 0])
        sheet.append(["id", "n"])
        sheet.append([f"row{n}", n])
    book.close()
    loaded = openpyxl.load_workbook(path)
    assert loaded.sheetnames == ["journal_lines_1", "journal_lines_2", "journal_lines_3"]
    assert [read(path, n)[1] for n in range(3)] == [["row1", 1], ["row2", 2], ["row3", 3]]
    parts_parse(path)


@pytest.mark.parametrize("index, letters", [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letters):
    assert xlsx.column_letters(index) == letters
