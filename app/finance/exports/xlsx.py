"""A streaming XLSX writer: sheets of text and number cells, written as XML straight into the zip.

An .xlsx is a zip of a few XML parts; the only big one is each sheet's `<sheetData>`. Rows go out as
they come (one `ZipFile.open(name, "w")` entry per sheet, deflated at level 1), so memory stays
constant and there is no temporary file. Text is written inline (`t="inlineStr"`): no shared-string
table to hold. A row is one call of a function compiled once per row shape (the type of each value),
an f-string with the column letters and styles already in it: the per-cell work is CPython's own.
"""

import re
import zipfile
from collections.abc import Sequence

XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
MAX_TEXT = 32_767  # Excel's cell limit, in UTF-16 units (XlsxWriter truncated there too)
COMPRESSLEVEL = 1  # 1.7x faster than zlib's default 6 for a 20 % larger file (docs/finance-exports.md)
FLUSH_CHARS = 1 << 20

# XML 1.0 cannot carry these at all (not even as &#n;): dropped.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads `_xHHHH_` in text as an escaped character: a literal one has its `_` escaped.
_EXCEL_ESCAPE = re.compile("(_x[0-9A-Fa-f]{4}_)")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def text_xml(value: str) -> str:
    """A string as the content of `<t>`: forbidden characters dropped, escaped, cut at Excel's limit."""
    value = _FORBIDDEN.sub("", value)
    if len(value) > MAX_TEXT // 2 and len(value.encode("utf-16-le")) > 2 * MAX_TEXT:
        value = value.encode("utf-16-le")[:2 * MAX_TEXT].decode("utf-16-le", "ignore")
    if "_x" in value:
        value = _EXCEL_ESCAPE.sub(r"_x005F\1", value)
    return value.translate(_ESCAPES)


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


NUMBERS = frozenset((int, float))
NONE = type(None)


def _as_text(kind: type):
    """How a value that is neither text nor a number is written: dates in ISO 8601, the rest by str()
    (uuids, enums, decimals, booleans)."""
    return kind.isoformat if hasattr(kind, "isoformat") else str


def _row_writer(letters: list[str], shape: tuple[type, ...], styles: Sequence[int]):
    """A function (row number as text, *values) → the row's XML, compiled for one shape of row.

    One f-string per row: CPython formats every cell in a single BUILD_STRING, with no template to
    parse and no Python loop over cells. It answers None when a text needs care: escaping (& < >),
    a character that is not printable (controls and lone surrogates, which XML cannot carry, but
    also tab and line breaks), `_xHHHH_` (Excel's own escape), an empty text (no cell), a space at
    either end (xml:space) or maybe more than Excel's 32,767 characters. All of them are seen in one
    string of the row's texts, `|` between them, so that most rows pass with a few scans of it.
    """
    cells, texts, lines, names = [], [], [], {}
    for i, kind in enumerate(shape):
        style = f' s="{styles[i]}"' if styles[i] else ""
        if kind in NUMBERS:
            cells.append(f'<c r="{letters[i]}{{r}}"{style}><v>{{v{i}}}</v></c>')
        elif kind is not NONE:
            if kind is not str:
                names[f"as_text{i}"] = _as_text(kind)
                lines.append(f"    v{i} = as_text{i}(v{i})")
            texts.append(f"{{v{i}}}")
            cells.append(f'<c r="{letters[i]}{{r}}"{style} t="inlineStr"><is><t>{{v{i}}}</t></is></c>')
    arguments = ", ".join(f"v{i}" for i in range(len(shape)))
    probe = "|" + "|".join(texts) + "|"
    source = "\n".join([
        f"def write(r, {arguments}):",
        *lines,
        f"    probe = f'{probe}'",
        "    if not (probe.isprintable() and '&' not in probe and '<' not in probe and '>' not in probe",
        "            and '_x' not in probe and '||' not in probe and '| ' not in probe and ' |' not in probe",
        f"            and len(probe) <= {MAX_TEXT // 2}):",  # at most 2 UTF-16 units a character
        "        return None",
        "    return f'<row r=\"{r}\">" + "".join(cells).replace("'", "\\'") + "</row>'",
    ])
    exec(compile(source, f"<xlsx row {len(shape)}>", "exec"), names)  # noqa: S102  (our own template)
    return names["write"]


class Sheet:
    """One worksheet being written: `append(values)` one row at a time.

    str is text, int and float are numbers (finite), None and "" leave the cell out; anything else
    is text (`_as_text`). `styles` gives a cell style (an index from `Workbook.number_style`, 0 for
    none) per column; a row may pass its own.
    """

    def __init__(self, entry, styles: Sequence[int]):
        self._entry, self._styles, self._row = entry, tuple(styles), 0
        self._letters = [column_letters(i) for i in range(len(styles))]
        self._templates: dict = {}
        self._pending: list[str] = []
        self._pending_chars = 0
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="9.140625" style="{style}"/>'
                       for i, style in enumerate(self._styles) if style)
        self._write(f'{XML}<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">'
                    + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>")

    @property
    def rows(self) -> int:
        return self._row

    def append(self, values: Sequence, styles: tuple[int, ...] | None = None) -> None:
        """One row; None and "" leave their cell out (as XlsxWriter did)."""
        self._row += 1
        shape = tuple(map(type, values))
        key = shape if styles is None else (shape, styles)
        write = self._templates.get(key)
        if write is None:
            write = self._templates[key] = _row_writer(self._letters, shape, styles or self._styles)
        xml = write(str(self._row), *values)
        if xml is None:  # text that needs more than the template gives (see _row_writer)
            xml = self._careful_row(values, styles or self._styles)
        self._pending.append(xml)
        self._pending_chars += len(xml)
        if self._pending_chars >= FLUSH_CHARS:
            self._flush()

    def _careful_row(self, values: Sequence, styles: Sequence[int]) -> str:
        row, cells = self._row, []
        for i, value in enumerate(values):
            if value is None or value == "":
                continue
            style = f' s="{styles[i]}"' if styles[i] else ""
            ref = f"{self._letters[i]}{row}"
            if value.__class__ in NUMBERS:
                cells.append(f'<c r="{ref}"{style}><v>{value!r}</v></c>')
            else:
                text = text_xml(value if value.__class__ is str else _as_text(value.__class__)(value))
                cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">'
                             f"{text}</t></is></c>")
        return f'<row r="{row}">' + "".join(cells) + "</row>"

    def _write(self, text: str) -> None:
        self._pending.append(text)
        self._flush()

    def _flush(self) -> None:
        self._entry.write("".join(self._pending).encode())
        self._pending.clear()
        self._pending_chars = 0

    def close(self) -> None:
        self._write("</sheetData></worksheet>")
        self._entry.close()

    def abandon(self) -> None:
        self._entry.close()


class Workbook:
    """An .xlsx written sheet after sheet; one sheet open at a time (the zip streams one entry)."""

    def __init__(self, path: str, *, compresslevel: int = COMPRESSLEVEL):
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._sheets: list[str] = []
        self._formats: list[str] = []
        self._open: Sheet | None = None

    def number_style(self, num_format: str) -> int:
        """The style index of cells shown with `num_format` ("0.00")."""
        if num_format not in self._formats:
            self._formats.append(num_format)
        return self._formats.index(num_format) + 1

    def add_sheet(self, name: str, styles: Sequence[int]) -> Sheet:
        """A new sheet named `name` (31 characters at most) with a style per column; closes the last."""
        if self._open is not None:
            self._open.close()
        self._sheets.append(name[:31])
        entry = self._zip.open(f"xl/worksheets/sheet{len(self._sheets)}.xml", "w")
        self._open = Sheet(entry, styles)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        write = self._zip.writestr
        sheets = len(self._sheets)
        write("[Content_Types].xml", _content_types(sheets))
        write("_rels/.rels", f'{XML}<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
                             f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        write("xl/workbook.xml", _workbook(self._sheets))
        write("xl/_rels/workbook.xml.rels", _workbook_rels(sheets))
        write("xl/styles.xml", _styles(self._formats))
        self._zip.close()

    def abandon(self) -> None:
        """Close the file after an error (the caller deletes it)."""
        if self._open is not None:
            self._open.abandon()
            self._open = None
        self._zip.close()


def _content_types(sheets: int) -> str:
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{SHEET_TYPE}"/>'
                        for n in range(1, sheets + 1))
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels"'
            ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{kind}.styles+xml"/>'
            f"{overrides}</Types>")


def _workbook(names: list[str]) -> str:
    sheets = "".join(f'<sheet name="{_attribute(name)}" sheetId="{n}" r:id="rId{n}"/>'
                     for n, name in enumerate(names, 1))
    return f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{sheets}</sheets></workbook>'


def _workbook_rels(sheets: int) -> str:
    links = "".join(f'<Relationship Id="rId{n}" Type="{RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                    for n in range(1, sheets + 1))
    styles = f'<Relationship Id="rId{sheets + 1}" Type="{RELS}/styles" Target="styles.xml"/>'
    return f'{XML}<Relationships xmlns="{PACKAGE_RELS}">{links}{styles}</Relationships>'


def _styles(formats: list[str]) -> str:
    """Excel's minimal stylesheet (one font, the two required fills, one border) plus a style per format."""
    num_fmts = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{_attribute(code)}"/>'
                       for i, code in enumerate(formats))
    xfs = "".join(f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0"'
                  ' applyNumberFormat="1"/>' for i in range(len(formats)))
    return (f'{XML}<styleSheet xmlns="{MAIN}">'
            + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
            + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(formats) + 1}">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            f"{xfs}</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>")
