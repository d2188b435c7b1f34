"""The estimate stage repeats itself: the same warehouse and seed give the same stored figures, in
every process and whatever order DuckDB hands the rows over in."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from profiles.evidence import evidence_for
from profiles.gap import Thresholds
from profiles.model import load_model
from tests import REPO
from warehouse.db import connect, insert_rows
from warehouse.estimates import EstimateSettings, estimate_municipality
from warehouse.labels import labelled_posteriors

NLP = "test-nlp"
AS_OF = date(2026, 10, 31)
# pacc: its bootstrap resamples the labelled voices, so their order could matter; handset: no fit
# ships for every profile model, and then each voice's posterior adds up its signals' ratios.
SETTINGS = EstimateSettings(
    period_days=90, method="pacc", n_boot=100, level=0.9, seed=0, thresholds=Thresholds(), evidence="handset"
)
COLUMNS = {
    "posts": "post_id source source_key kind channel created_utc text author_key municipality_id relevance "
    "content_hash first_run_id stored_at",
    "enrichment": "post_id nlp_version content_hash language sentiment sentiment_score trust n_tokens "
    "enriched_at",
    "post_signals": "post_id profile_model model_version signal_ids",
    "label_voices": "voice_id municipality_id period_start period_end profile_model model_version signal_ids "
    "exported_at",
    "voice_labels": "voice_id profile_model profile_id labelled_at",
}


def _warehouse(path: Path, reverse: bool) -> Path:
    """120 voices of Utrecht with three to six signals each and 40 labelled voices; ``reverse``
    inserts the same rows in the opposite order."""
    evidence = evidence_for(load_model("citisens"), SETTINGS.evidence)
    model, version = evidence.model, evidence.version
    rng = np.random.default_rng(11)

    def signals(n: int) -> list[str]:
        return [model.signals[j].id for j in rng.choice(len(model.signals), size=n, replace=False)]

    day = datetime(2026, 10, 1, 12, tzinfo=UTC)
    start = AS_OF - timedelta(days=SETTINGS.period_days - 1)
    rows: dict[str, list[tuple]] = {table: [] for table in COLUMNS}
    for i in range(120):
        post_id, when = f"reddit:{i:03d}", day - timedelta(days=i % 60)
        channel = "r/utrecht" if i % 3 else "r/thenetherlands"
        author = f"author{i:03d}"
        post = (post_id, "reddit", "test", "comment", channel, when, "tekst", author, "utrecht", "named")
        rows["posts"].append((*post, post_id, 1, when))
        rows["enrichment"].append((post_id, NLP, post_id, "nl", "neutral", 0.0, "neutral", 3, day))
        rows["post_signals"].append((post_id, model.id, version, signals(3 + i % 4)))
    for i in range(40):
        voice_id = f"voice{i:02d}"
        rows["label_voices"].append(
            (voice_id, "utrecht", start, AS_OF, model.id, version, signals(2 + i % 4), day)
        )
        rows["voice_labels"].append((voice_id, model.id, model.profile_ids[i % len(model.profile_ids)], day))
    with connect(path) as con:
        for table, columns in COLUMNS.items():
            insert_rows(con, table, columns.split(), rows[table][::-1] if reverse else rows[table])
    return path


def _estimate(path: Path) -> None:
    """The estimate stage's work for one municipality, in this process."""
    evidence = evidence_for(load_model("citisens"), SETTINGS.evidence)
    with connect(path) as con:
        estimate_municipality(con, "utrecht", evidence, NLP, AS_OF, SETTINGS, run_id=1)


def _stored(path: Path) -> list[tuple]:
    """Every stored figure, in a fixed order (the run id and the clock left out)."""
    with connect(path) as con:
        return con.execute("SELECT * EXCLUDE (run_id) FROM share_estimates ORDER BY ALL").fetchall()


def test_the_same_rows_in_another_order_give_the_same_figures(tmp_path: Path) -> None:
    first = _warehouse(tmp_path / "first.duckdb", reverse=False)
    second = _warehouse(tmp_path / "second.duckdb", reverse=True)
    _estimate(first)
    _estimate(second)
    with connect(first) as con:
        methods = con.execute("SELECT DISTINCT method FROM share_estimates ORDER BY method").fetchall()
    assert methods == [("bayes",), ("pacc",), ("pcc",)]  # pacc: calibrated by the labelled voices
    assert _stored(first) == _stored(second)


@pytest.mark.slow  # two processes, each importing the stages
def test_the_estimate_stage_gives_the_same_figures_in_every_process(tmp_path: Path) -> None:
    """A process's string hashing (PYTHONHASHSEED) decides the order of a set: it must not reach
    the figures."""
    path = _warehouse(tmp_path / "w.duckdb", reverse=False)
    stage = (
        "import sys; from pathlib import Path; from flows.stages import estimate; "
        "from tests.warehouse.test_estimates import AS_OF, NLP, SETTINGS; "
        "estimate(Path(sys.argv[1]), 'utrecht', 'citisens', AS_OF, SETTINGS, 1, NLP)"
    )
    figures = []
    for hash_seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", stage, str(path)],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            check=True,
            timeout=300,
        )
        figures.append(_stored(path))
    assert figures[0] and figures[0] == figures[1]


def test_labelled_voices_come_in_one_order(tmp_path: Path) -> None:
    evidence = evidence_for(load_model("citisens"), SETTINGS.evidence)
    read = []
    for name, reverse in (("first", False), ("second", True)):
        with connect(_warehouse(tmp_path / f"{name}.duckdb", reverse=reverse)) as con:
            read.append(labelled_posteriors(con, evidence))
    (posteriors, labels), (again, again_labels) = read
    assert len(labels) == 40
    assert np.array_equal(posteriors, again) and np.array_equal(labels, again_labels)
