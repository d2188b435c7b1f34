"""What the command line says in everyday use: install hints and other text with square brackets
printed as written, counts in words, the version, a transformer backend without its extra, an
output folder that is a file, and a reach gap asked for by municipality name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests import REPO
from warehouse.db import connect


def _line(output: str) -> str:
    """The output as one line, however the console wrapped it."""
    return " ".join(output.split())


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"betrokken {version('betrokken')}"


def test_install_hints_keep_the_extra_in_brackets(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # as if the dask extra were not installed
    result = CliRunner().invoke(app, ["demo", "--runner", "dask", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 2, result.output
    assert "pip install 'betrokken[dask]'" in result.output
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    result = CliRunner().invoke(app, ["models", "download"])
    assert result.exit_code == 2, result.output
    assert "pip install 'betrokken[transformers]'" in result.output


def test_a_config_error_keeps_its_section_in_brackets(minimal_config: Path) -> None:
    minimal_config.write_text(minimal_config.read_text() + '\n[estimation]\nevidence = "missing.npz"\n')
    result = CliRunner().invoke(app, ["check", "--config", str(minimal_config)])
    assert result.exit_code == 2, result.output
    assert "[estimation] evidence:" in _line(result.output)


def test_check_counts_one_municipality_in_the_singular(minimal_config: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--config", str(minimal_config)])
    assert result.exit_code == 0, result.output
    assert "valid; 1 municipality, profile model" in _line(result.output)


# Makes `import transformers` fail in the process it starts in, as where the extra is not installed.
BLOCK_TRANSFORMERS = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "transformers" or name.startswith("transformers."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def _check_without_transformers(config: Path, shim: Path) -> subprocess.CompletedProcess[str]:
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(BLOCK_TRANSFORMERS, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(shim)}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "check", "--config", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_says_a_transformer_backend_needs_its_extra(minimal_config: Path, tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    lexicon = _check_without_transformers(minimal_config, shim)
    assert lexicon.returncode == 0, lexicon.stderr  # the shim alone breaks nothing
    minimal_config.write_text(minimal_config.read_text() + '\n[nlp]\nsentiment_backend = "transformers"\n')
    result = _check_without_transformers(minimal_config, shim)
    assert result.returncode == 2, result.stdout + result.stderr
    message = _line(result.stderr)
    assert 'sentiment_backend = "transformers" needs the transformers extra' in message
    assert "pip install 'betrokken[transformers]'" in message
    assert "Traceback" not in message


def test_demo_out_on_a_file_says_so_in_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "demo[1].txt"
    taken.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--out", str(taken)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"--out {taken}: that is a file; give a folder" in _line(result.output)
    result = CliRunner().invoke(app, ["demo", "--out", str(taken / "inside")])
    assert result.exit_code == 2, result.output
    assert f"--out {taken / 'inside'}: cannot make that folder" in _line(result.output)


END = date(2026, 11, 27)


@pytest.fixture
def gap_warehouse(tmp_path: Path) -> Path:
    """Reach-gap rows of two municipalities over 90 days: Utrecht overall and on one topic,
    Overbetuwe overall, with the names the configuration gave them."""
    path = tmp_path / "w.duckdb"
    start = END - timedelta(days=89)
    with connect(path) as con:
        for mid, name in (("utrecht", "Utrecht"), ("overbetuwe", "Overbetuwe")):
            con.execute(
                "INSERT INTO municipalities (municipality_id, name, profile_model, updated_at) "
                "VALUES (?, ?, 'citisens', now())",
                [mid, name],
            )
        for mid, topic in (("utrecht", None), ("utrecht", "wonen"), ("overbetuwe", None)):
            con.execute(
                "INSERT INTO share_estimates (group_key, run_id, municipality_id, period_start, period_end, "
                "topic_id, channel, profile_model, profile_id, profile_name, method, is_primary, n_voices, "
                "n_voices_with_evidence, population_share, population_share_is_assumption, status) "
                "VALUES (?, 1, ?, ?, ?, ?, NULL, 'citisens', 'stil', 'Stil', 'bayes', true, 40, 40, 0.1, "
                "false, 'under')",
                [f"{mid}|{topic}", mid, start, END, topic],
            )
    return path


def _gap(warehouse: Path, *args: str):
    return CliRunner().invoke(app, ["gap", *args, "--warehouse", str(warehouse), "--json"])


@pytest.mark.parametrize("given", ["Utrecht", "UTRECHT", "utrecht"])
def test_gap_takes_a_municipality_by_name_or_id_in_any_case(gap_warehouse: Path, given: str) -> None:
    result = _gap(gap_warehouse, "--municipality", given)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["municipality"], r["topic"]) for r in rows] == [("utrecht", None)]


def test_gap_of_an_unknown_municipality_lists_the_known_ones(gap_warehouse: Path) -> None:
    result = _gap(gap_warehouse, "--municipality", "Arnhem")
    assert result.exit_code == 2, result.output
    message = _line(result.output)
    assert "'Arnhem'" in message
    assert "overbetuwe (Overbetuwe), utrecht (Utrecht)" in message


def test_gap_of_an_unknown_topic_or_period_lists_the_known_ones(gap_warehouse: Path) -> None:
    result = _gap(gap_warehouse, "--municipality", "Utrecht", "--topic", "verkeer")
    assert result.exit_code == 2, result.output
    assert "--topic: no reach gap for topic 'verkeer' in utrecht; known: wonen" in _line(result.output)
    result = _gap(gap_warehouse, "--topic", "wonen", "--period", "30d")
    assert result.exit_code == 2, result.output
    assert "--period: no reach gap over 30d on topic wonen; known: 90d" in _line(result.output)
    result = _gap(gap_warehouse, "--topic", "wonen", "--period", "90d")
    assert result.exit_code == 0, result.output
    assert [r["municipality"] for r in json.loads(result.output)] == ["utrecht"]
