"""Reading the CSV files that people bring: labelled voices, texts to enrich or estimate, shares.

They come from spreadsheets as often as from scripts. Excel in a Dutch locale saves "CSV" as
Windows-1252 text with semicolons between the columns and decimal commas in numbers; its "CSV UTF-8"
starts with a byte order mark; "Unicode text" is UTF-16 with tabs; scripts write UTF-8 with commas.
Every command that reads a CSV calls ``read_csv``, which takes each of these as it is, and
``parse_decimal`` for a number in a cell, so that no command has its own idea of what a CSV is.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

DELIMITERS = (",", ";", "\t")
SAMPLE_RECORDS = 50  # records that decide between delimiters the header alone cannot tell apart
_BOMS = (  # (byte order mark, codec, name in messages)
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_NAMES = {",": "','", ";": "';'", "\t": "a tab"}
SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8' (or as CSV with ',' or ';' between the columns)"


class CsvError(ValueError):
    """The file cannot be read as a table; the message names the file and how to fix it."""


def read_csv(path: Path, columns: Sequence[str], hint: str = "") -> list[dict[str, str]]:
    """The rows of a CSV as {column: cell} for the named columns ("" for a missing cell).

    The encoding (UTF-8 with or without a byte order mark, UTF-16 with one, else Windows-1252) and
    the delimiter (``,``, ``;`` or a tab) are found from the file: the delimiter is the one whose
    header holds the most of ``columns``, then the one that splits the header into the most names,
    then the one that splits the most of the first records into as many cells (with one column, a
    delimiter that is not there: a comma in a text is left unquoted by a semicolon file). Quoted
    cells may hold line breaks; blank lines are skipped. ``hint`` ends the message when a column is
    missing (e.g. which option names it).

    Raises:
        CsvError: the file is missing, not text, not a CSV, or lacks a column.
    """
    text, encoding = _decode(path)
    delimiter = _delimiter(text, columns)
    try:
        records = (r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r)
        header = [name.strip() for name in next(records, [])]
        if not any(header):
            raise CsvError(f"{path}: the file is empty; the first line must name the columns")
        missing = [c for c in columns if c not in header]
        if missing:
            raise CsvError(
                f"{path}: no column {', '.join(repr(m) for m in missing)}; the header, read as {encoding} "
                f"with {_NAMES[delimiter]} between the columns, has {header}. "
                + ("Separate the columns with ',' or ';'. " if len(header) == 1 < len(columns) else "")
                + hint
            )
        index = [header.index(c) for c in columns]
        return [
            {c: (record[i] if i < len(record) else "") for c, i in zip(columns, index, strict=True)}
            for record in records
        ]
    except csv.Error as exc:
        raise CsvError(f"{path}: not a readable CSV ({encoding}, {_NAMES[delimiter]}): {exc}") from None


def parse_decimal(cell: str) -> float:
    """A number as a spreadsheet writes it: ``12.5``, ``12,5`` (a Dutch decimal comma), ``1.234,5``
    or ``1,234.5`` (the last mark is the decimal one), with an optional ``%`` that is left to the
    caller to scale. Raises ValueError when it is not a number."""
    value = cell.strip().replace("\u00a0", "").replace(" ", "").removesuffix("%")
    if "," in value and "." in value:
        grouping = "." if value.rindex(",") > value.rindex(".") else ","
        value = value.replace(grouping, "")
    if value.count(",") == 1:
        value = value.replace(",", ".")
    return float(value)


def _decode(path: Path) -> tuple[str, str]:
    """The file's text and the name of its encoding."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvError(f"{path}: file not found") from None
    except OSError as exc:
        raise CsvError(f"{path}: cannot be read: {exc.strerror}") from None
    if data.startswith(b"PK\x03\x04"):
        raise CsvError(f"{path}: a spreadsheet workbook (.xlsx), not a CSV; {SAVE_AS}")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name
            except UnicodeDecodeError:
                raise CsvError(f"{path}: starts as {name} text but is not; {SAVE_AS}") from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise CsvError(
            f"{path}: neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02x} at {exc.start}); "
            f"{SAVE_AS}"
        ) from None


def _delimiter(text: str, columns: Sequence[str]) -> str:
    """The delimiter of ``text``; see ``read_csv``."""

    def score(delimiter: str) -> tuple[int, int, float]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header, *records = [r for r in islice(reader, SAMPLE_RECORDS) if r] or [[]]
        except csv.Error:
            return -1, -1, -1.0  # read_csv says what is wrong, should every delimiter fail
        header = [name.strip() for name in header]
        consistent = sum(1 for r in records if len(r) == len(header)) / max(len(records), 1)
        return sum(1 for c in columns if c in header), len(header), consistent

    return max(DELIMITERS, key=score)  # the first of equals: a comma
