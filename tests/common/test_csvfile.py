"""One reader for every CSV people bring, as spreadsheets and scripts save them."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pytest

from common.csvfile import CsvError, parse_decimal, read_csv

# Names and texts a Dutch spreadsheet holds: diacritics, the ij, the euro sign, a comma and a
# semicolon inside a cell, and a line break inside a quoted cell.
ROWS = [
    ["René van Dijk", "Het parkeertarief gaat naar € 4,50; belachelijk!", "-1"],
    ["Zoë IJsselmuiden", "Geëmigreerd naar Zeeland,\nmaar de ijsbaan mis ik.", "1"],
    ["Anaïs Çelik", "De raad vergadert dinsdag.", "0"],
]
EXPECTED = [{"tekst": text, "naam": name} for name, text, _ in ROWS]


def _write(path: Path, encoding: str, delimiter: str, bom: bytes = b"") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(["naam", "tekst", "oordeel"])
        writer.writerows(ROWS)
    path.write_bytes(bom + path.read_bytes())
    return path


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [
        ("cp1252", ";", b""),  # Excel in a Dutch locale: "CSV (gescheiden door lijstscheidingsteken)"
        ("utf-8", ";", codecs.BOM_UTF8),  # Excel's "CSV UTF-8" in a Dutch locale
        ("utf-8", ",", codecs.BOM_UTF8),
        ("utf-8", ",", b""),  # scripts
        ("cp1252", ",", b""),
        ("utf-8", "\t", b""),
        ("utf-16", "\t", b""),  # Excel's "Unicode text" (Python writes the byte order mark)
    ],
    ids=["cp1252-semicolon", "bom-semicolon", "bom-comma", "utf8-comma", "cp1252-comma", "tab", "utf16-tab"],
)
def test_every_way_a_spreadsheet_saves_reads_the_same(
    tmp_path: Path, encoding: str, delimiter: str, bom: bytes
) -> None:
    path = _write(tmp_path / "in.csv", encoding, delimiter, bom)
    assert read_csv(path, ["tekst", "naam"]) == EXPECTED


def test_a_single_column_of_texts_with_commas_is_split_on_nothing(tmp_path: Path) -> None:
    """With one column the header cannot tell the delimiter: the records do. Excel's semicolon
    file leaves a comma in a cell unquoted."""
    path = tmp_path / "one.csv"
    path.write_bytes("tekst\r\nGoed zo, gemeente\r\nTwee, drie, vier\r\n".encode("cp1252"))
    assert read_csv(path, ["tekst"]) == [{"tekst": "Goed zo, gemeente"}, {"tekst": "Twee, drie, vier"}]


def test_a_semicolon_inside_a_cell_of_a_comma_file_stays_in_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "topics.csv"
    path.write_text("text,topic\nWindturbines bij het dorp,energie_klimaat;bestuur_participatie\n")
    assert read_csv(path, ["text", "topic"]) == [
        {"text": "Windturbines bij het dorp", "topic": "energie_klimaat;bestuur_participatie"}
    ]


def test_a_missing_column_names_the_encoding_the_delimiter_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "cp1252", ";")
    with pytest.raises(CsvError) as exc:
        read_csv(path, ["text"], hint="Name it with --text-col.")
    message = str(exc.value)
    assert "no column 'text'" in message and "['naam', 'tekst', 'oordeel']" in message
    assert "Windows-1252" in message and "';'" in message and message.endswith("Name it with --text-col.")
    piped = tmp_path / "piped.csv"
    piped.write_text("text|label\nGoed|1\n")
    with pytest.raises(CsvError, match=r"Separate the columns with ',' or ';'"):
        read_csv(piped, ["text", "label"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"tekst\r\nna\x81me\r\n",
            r"neither UTF-8 nor Windows-1252 text \(byte 0x81 at 9\); save it .*CSV UTF-8",
        ),
        (b"PK\x03\x04\x14\x00\x06\x00", r"a spreadsheet workbook \(\.xlsx\), not a CSV; save it"),
        (b"", "the file is empty"),
        (b"tekst\r\n" + b"a" * 200_000, r"not a readable CSV \(UTF-8, ','\): field larger than field limit"),
    ],
    ids=["undecodable", "workbook", "empty", "huge-cell"],
)
def test_what_cannot_be_read_is_refused_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(CsvError, match=message) as exc:
        read_csv(path, ["tekst"])
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)
    with pytest.raises(CsvError, match="file not found"):
        read_csv(tmp_path / "absent.csv", ["tekst"])
    with pytest.raises(CsvError, match="cannot be read"):
        read_csv(tmp_path, ["tekst"])  # a folder


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12.5", 12.5),
        ("12,5", 12.5),
        (" 12,5 % ", 12.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("-1,0", -1.0),
    ],
)
def test_numbers_are_read_with_a_decimal_comma_or_point(cell: str, value: float) -> None:
    assert parse_decimal(cell) == value


@pytest.mark.parametrize("cell", ["veel", "", "1,2,3", "12,5,"])
def test_what_is_not_a_number_is_refused(cell: str) -> None:
    with pytest.raises(ValueError):
        parse_decimal(cell)
