"""Every command that reads a CSV reads what a spreadsheet saves: Excel in a Dutch locale writes
Windows-1252 with semicolons and decimal commas, its "CSV UTF-8" starts with a byte order mark.
What cannot be read is refused with one line that says how to save it, never a traceback."""

from __future__ import annotations

import codecs
import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from profiles.evidence import POST_SEPARATOR
from profiles.model import load_model
from warehouse.db import connect, insert_rows

# (text, author, sentiment as a Dutch spreadsheet shows it, topics): diacritics, the ij, the euro
# sign, commas and semicolons inside cells.
ROWS = [
    (
        "Het parkeertarief in de binnenstad gaat naar € 4,50 per uur; belachelijk!",
        "René",
        "-1",
        "verkeer_parkeren",
    ),
    ("Geëmigreerd naar Zeeland, maar de ijsbaan van Utrecht mis ik echt.", "Zoë", "1,0", ""),
    (
        "De gemeenteraad vergadert dinsdag over de windturbines bij IJsselstein.",
        "René",
        "0",
        "energie_klimaat;bestuur_participatie",
    ),
    ("Wat een prachtig park is het geworden, echt genieten hier!", "Anaïs", "1", ""),
]
HEADER = ["tekst", "auteur", "oordeel", "onderwerp"]
# (encoding, delimiter, byte order mark) of each way of saving
SCRIPT = ("utf-8", ",", b"")
EXCEL_NL = ("cp1252", ";", b"")
EXCEL_NL_UTF8 = ("utf-8", ";", codecs.BOM_UTF8)


def _save(path: Path, rows: list, header: list[str], saved_as: tuple[str, str, bytes]) -> Path:
    encoding, delimiter, bom = saved_as
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    path.write_bytes(bom + path.read_bytes())
    return path


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _without_speed(output: str) -> dict:
    """The last line's JSON without the throughput, which differs from run to run."""
    report = json.loads(output.strip().splitlines()[-1])
    report.pop("docs_per_s", None)
    return report


@pytest.mark.parametrize("saved_as", [EXCEL_NL, EXCEL_NL_UTF8], ids=["cp1252-semicolon", "bom-semicolon"])
def test_nlp_estimate_and_eval_read_a_dutch_spreadsheet_as_a_script_written_csv(
    tmp_path: Path, saved_as: tuple[str, str, bytes]
) -> None:
    reference = _save(tmp_path / "script.csv", ROWS, HEADER, SCRIPT)
    excel = _save(tmp_path / "excel.csv", ROWS, HEADER, saved_as)
    for args in (
        ["nlp", "--text-col", "tekst"],
        ["estimate", "--text-col", "tekst", "--author-col", "auteur"],
    ):
        output = _run([*args, "--csv", str(excel)])
        assert output == _run([*args, "--csv", str(reference)])
        assert "René" not in output and "Anaïs" not in output  # authors group rows, never shown
    assert len(_run(["nlp", "--csv", str(excel), "--text-col", "tekst"]).strip().splitlines()) == len(ROWS)
    for args in (
        ["eval", "sentiment", "--text-col", "tekst", "--label-col", "oordeel"],
        ["eval", "topics", "--text-col", "tekst", "--label-col", "onderwerp"],
    ):
        report = _without_speed(_run([*args, "--csv", str(excel)]))
        assert report == _without_speed(_run([*args, "--csv", str(reference)]))
        assert report["n"] == len(ROWS)
    sentiment = _without_speed(
        _run(["eval", "sentiment", "--csv", str(excel), "--text-col", "tekst", "--label-col", "oordeel"])
    )
    assert {c: v["support"] for c, v in sentiment["per_class"].items()} == {
        "negative": 1,
        "neutral": 1,
        "positive": 2,  # "1,0" is 1
    }


LABEL_VOICE_COLUMNS = (
    "voice_id",
    "municipality_id",
    "period_start",
    "period_end",
    "profile_model",
    "model_version",
    "signal_ids",
    "exported_at",
)


def _labelled_warehouse(path: Path) -> list[str]:
    """A warehouse with three exported voices; their voice ids."""
    model = load_model("citisens")
    ids = ["3f9a1c0b22d4", "a07e5b19c3f1", "c4d2e8f01a6b"]
    when = datetime(2026, 10, 1, tzinfo=UTC)
    with connect(path) as con:
        insert_rows(
            con,
            "label_voices",
            LABEL_VOICE_COLUMNS,
            [(v, "utrecht", date(2026, 8, 3), date(2026, 10, 31), model.id, "v", [], when) for v in ids],
        )
    return ids


@pytest.mark.parametrize("saved_as", [EXCEL_NL, EXCEL_NL_UTF8], ids=["cp1252-semicolon", "bom-semicolon"])
def test_label_import_reads_the_export_back_from_a_dutch_spreadsheet(
    tmp_path: Path, saved_as: tuple[str, str, bytes]
) -> None:
    warehouse = tmp_path / "w.duckdb"
    ids = _labelled_warehouse(warehouse)
    texts = POST_SEPARATOR.join(text for text, *_ in ROWS)  # several posts in one cell, as exported
    labelled = _save(
        tmp_path / "labels.csv",
        [
            (ids[0], "utrecht", texts, "kritische_vernieuwers"),
            (ids[1], "utrecht", "Fiets € 12,50", ""),  # not labelled: skipped
            (ids[2], "utrecht", "Zoë en René", "zorgzame_senioren"),
        ],
        ["voice_id", "municipality", "texts", "profile"],
        saved_as,
    )
    output = _run(["label", "import", str(labelled), "--warehouse", str(warehouse)])
    assert "2 labels stored" in output
    with connect(warehouse) as con:
        stored = con.execute("SELECT voice_id, profile_id FROM voice_labels ORDER BY voice_id").fetchall()
    assert stored == [(ids[0], "kritische_vernieuwers"), (ids[2], "zorgzame_senioren")]


def test_population_shares_from_a_dutch_spreadsheet_pass_the_check(
    tmp_path: Path, minimal_config: Path
) -> None:
    shares = [
        (pid, "12,5", "Motivaction © 2025, licentie gemeente – € 0")
        for pid in load_model("citisens").profile_ids
    ]
    _save(tmp_path / "aandelen.csv", shares, ["profile_id", "share", "source"], EXCEL_NL)
    config = minimal_config.read_text(encoding="utf-8")
    minimal_config.write_text(
        config.replace('cbs_code = "GM0344"', 'cbs_code = "GM0344"\npopulation_shares = "aandelen.csv"'),
        encoding="utf-8",
    )
    assert "valid; 1 municipality," in _run(["check", "--config", str(minimal_config)])
    (tmp_path / "aandelen.csv").write_bytes(b"profile_id;share;source\r\nstadse_nomaden;12,5;\x81\r\n")
    refused = CliRunner().invoke(app, ["check", "--config", str(minimal_config)])
    assert refused.exit_code == 2 and "neither UTF-8 nor Windows-1252" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)


@pytest.mark.parametrize(
    "args",
    [
        ["nlp", "--csv", "{path}"],
        ["estimate", "--csv", "{path}"],
        ["eval", "sentiment", "--csv", "{path}"],
        ["eval", "topics", "--csv", "{path}"],
        ["label", "import", "{path}", "--warehouse", "{warehouse}"],
    ],
    ids=["nlp", "estimate", "eval-sentiment", "eval-topics", "label-import"],
)
def test_a_file_that_is_no_text_is_refused_with_one_line(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "kapot.csv"
    path.write_bytes(b"text,label,voice_id,profile\r\n\x81\x8d,1,x,y\r\n")  # bytes no text encoding has
    warehouse = tmp_path / "w.duckdb"
    _labelled_warehouse(warehouse)
    result = CliRunner().invoke(app, [a.format(path=path, warehouse=warehouse) for a in args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "neither UTF-8 nor Windows-1252" in lines[0] and "CSV UTF-8" in lines[0]
