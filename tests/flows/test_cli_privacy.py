"""`forget` and `purge` on a small real warehouse: an erasure request that matches nothing never
passes for done, and a command that deletes data never picks a warehouse by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from sources.base import Post, SourceResult
from sources.pseudonym import Pseudonymiser, load_key
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.db import begin_run, connect
from warehouse.store import store_result

GAZ = Gazetteer([GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ("r/utrecht",))])
WHEN = datetime(2025, 10, 1, 12, tzinfo=UTC)
# The accounts as each platform hashes them (the name is never stored).
REDDIT_NAME = "Jan_Fiets"
MASTODON_ACCT = "anna@mastodon.nl"


def _post(post_id: str, source: str, author: str, pseudonymiser: Pseudonymiser, n: int) -> Post:
    return Post(
        post_id=post_id,
        source=source,
        kind="comment",
        channel="r/utrecht",
        created_utc=WHEN,
        text=f"De gemeente Utrecht moet de fietsenstalling bij Lombok uitbreiden, zegt bericht {n}.",
        thread_id=post_id,
        author_key=pseudonymiser.author_key(author),
    )


def small_warehouse(folder: Path) -> Path:
    """Two Reddit comments of one author and one Mastodon status of another, with the key beside."""
    folder.mkdir(parents=True, exist_ok=True)
    pseudonymiser = Pseudonymiser(load_key(folder / "betrokken.key"))
    posts = [
        _post("reddit:t1_a", "reddit", REDDIT_NAME, pseudonymiser, 1),
        _post("reddit:t1_b", "reddit", REDDIT_NAME, pseudonymiser, 2),
        _post("mastodon:0f0f", "mastodon", MASTODON_ACCT, pseudonymiser, 3),
    ]
    path = folder / "warehouse.duckdb"
    with connect(path) as con:
        store_result(con, SourceResult("test", posts=posts, state={}), GAZ, begin_run(con, "live"))
    return path


def _post_ids(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT post_id FROM posts ORDER BY post_id").fetchall()]


def _forget(path: Path, *args: str):
    return CliRunner().invoke(app, ["forget", *args, "--warehouse", str(path)])


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("BETROKKEN_AUTHOR_KEY", raising=False)
    return small_warehouse(tmp_path / "w")


def test_forget_reads_an_account_as_its_platform_writes_it(warehouse: Path) -> None:
    result = _forget(warehouse, "--author", "u/jan_fiets")
    assert result.exit_code == 0, result.output
    assert "erased 2 items of that author" in result.output
    assert "jan_fiets" not in result.output.lower()
    assert _post_ids(warehouse) == ["mastodon:0f0f"]
    result = _forget(warehouse, "--author", "https://mastodon.nl/@anna")
    assert result.exit_code == 0, result.output
    assert "erased 1 item of that author and" in result.output  # one item, not "1 items"
    assert _post_ids(warehouse) == []


def test_forget_an_author_that_matches_nothing_exits_1_and_says_what_was_searched(warehouse: Path) -> None:
    result = _forget(warehouse, "--author", "u/Piet_Loopt")
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "nothing was erased" in message
    assert "Searched 3 items (mastodon 1, reddit 2) with an author" in message
    assert str(warehouse) in message
    assert "read as a reddit account" in message
    assert "u/name" in message and "user@instance" in message and "DID" in message
    assert "piet" not in message.lower()  # the name is never echoed
    assert len(_post_ids(warehouse)) == 3
    # asked again after a real erasure: still not done, and it says it was answered before
    assert _forget(warehouse, "--author", REDDIT_NAME).exit_code == 0
    again = _forget(warehouse, "--author", REDDIT_NAME)
    assert again.exit_code == 1
    assert "It was erased before, on " in " ".join(again.output.split())


def test_forget_an_account_written_in_no_form_it_knows_exits_2_without_echoing_it(warehouse: Path) -> None:
    result = _forget(warehouse, "--author", "anna.bsky.social")  # a Bluesky handle, not its DID
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "not an account this tool can match" in message
    assert "not its handle" in message
    assert "anna" not in message
    assert len(_post_ids(warehouse)) == 3


def test_forget_an_unknown_id_exits_1_like_an_unknown_author(warehouse: Path) -> None:
    result = _forget(warehouse, "--source-id", "t1_nietbestaand")
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "no stored item has the id t1_nietbestaand: nothing was erased" in message
    assert "Searched 3 items (mastodon 1, reddit 2)" in message
    assert len(_post_ids(warehouse)) == 3


@pytest.mark.parametrize(
    "command",
    [["purge", "--older-than", "0"], ["forget", "--author", REDDIT_NAME], ["forget", "--source-id", "t1_a"]],
    ids=["purge", "forget author", "forget item"],
)
def test_a_command_that_deletes_data_never_falls_back_to_the_demo_warehouse(
    command: list[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("BETROKKEN_AUTHOR_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    demo = small_warehouse(tmp_path / "betrokken-demo")  # where the research commands would look
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "--warehouse" in result.output and "--config" in result.output
    with duckdb.connect(str(demo), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts WHERE text IS NOT NULL").fetchone()[0] == 3


def test_purge_with_a_config_and_another_warehouse_refuses_both(
    warehouse: Path, minimal_config: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["purge", "--older-than", "0", "-c", str(minimal_config), "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 2, result.output
    assert "is not the warehouse of --config" in " ".join(result.output.split())
    assert not (tmp_path / "data").exists()


def test_purge_counts_in_words(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["purge", "--older-than", "1", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "purged the text of 3 items older than 1 day;" in result.output
