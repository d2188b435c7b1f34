from datetime import UTC, datetime
from pathlib import Path

from sources.base import Post, SourceResult
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.db import begin_run, connect, migrate, table_counts
from warehouse.store import store_result

GAZ = Gazetteer([GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ("r/utrecht",))])
WHEN = datetime(2026, 10, 1, 12, tzinfo=UTC)
LONG = "De gemeente Utrecht wil het groen in Lombok opknappen samen met de buurt, vanaf volgend voorjaar."


def _post(pid: str, text: str, kind: str = "post", thread: str | None = None) -> Post:
    return Post(
        post_id=pid,
        source="reddit",
        kind=kind,
        channel="r/thenetherlands",
        created_utc=WHEN,
        text=text,
        thread_id=thread or pid,
        author_key="abc123",
    )


def test_migrations_apply_once(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        assert migrate(con) == []
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 2
        views = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert {"v_posts", "v_enrichment", "v_topic_daily", "v_sentiment_daily", "v_reach_gap"} <= views
        v_posts = [r[0] for r in con.execute("DESCRIBE v_posts").fetchall()]
        assert "author_key" not in v_posts


def test_store_is_idempotent_and_links_exact_duplicates(tmp_path: Path) -> None:
    result = SourceResult(
        "test:reddit",
        posts=[
            _post("reddit:t3_a", LONG),
            _post("reddit:t3_b", LONG.upper() + "  "),  # the same text reposted
            _post("reddit:t1_c", "Eens!", kind="comment", thread="reddit:t3_a"),
            _post("reddit:t3_d", "Huren in Amsterdam is niet te doen"),
        ],
        state={"watermark": 1.0},
    )
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        first = store_result(con, result, GAZ, run)
        assert (first.fetched, first.new, first.duplicate) == (4, 4, 1)
        before = table_counts(con)["posts"]
        second = store_result(con, result, GAZ, begin_run(con, "live"))
        assert (second.new, second.duplicate) == (0, 0)
        assert table_counts(con)["posts"] == before == 4
        rows = dict(con.execute("SELECT post_id, duplicate_of FROM posts").fetchall())
        assert rows["reddit:t3_b"] == "reddit:t3_a" and rows["reddit:t3_a"] is None
        municipality = dict(con.execute("SELECT post_id, municipality_id FROM posts").fetchall())
        assert municipality["reddit:t1_c"] == "utrecht"  # inherited from its thread
        assert municipality["reddit:t3_d"] is None
        assert con.execute("SELECT state FROM source_state").fetchone()[0] == '{"watermark": 1.0}'


def test_failed_source_is_recorded_and_stores_nothing(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        counts = store_result(con, SourceResult("rss:kapot", error="HTTP 500"), GAZ, run)
        assert counts.status == "failed"
        assert con.execute("SELECT status, reason FROM run_sources").fetchone() == ("failed", "HTTP 500")
        assert table_counts(con)["posts"] == 0


def test_item_deleted_at_the_source_loses_text_title_and_author(tmp_path: Path) -> None:
    original = Post(
        post_id="reddit:t3_z",
        source="reddit",
        kind="post",
        channel="r/utrecht",
        created_utc=WHEN,
        title="Bomenkap in Lombok",
        text=LONG,
        thread_id="reddit:t3_z",
        author_key="abc123",
    )
    deleted = Post(
        post_id="reddit:t3_z",
        source="reddit",
        kind="post",
        channel="r/utrecht",
        created_utc=WHEN,
        title="",
        text="",
        thread_id="reddit:t3_z",
        author_key=None,
        is_deleted=True,
    )
    with connect(tmp_path / "w.duckdb") as con:
        store_result(con, SourceResult("test:reddit", posts=[original]), GAZ, begin_run(con, "live"))
        assert con.execute("SELECT count(*) FROM post_lsh").fetchone()[0] > 0
        store_result(con, SourceResult("test:reddit", posts=[deleted]), GAZ, begin_run(con, "live"))
        row = con.execute("SELECT is_deleted, title, text, author_key FROM posts").fetchone()
        assert row == (True, None, None, None)
        assert con.execute("SELECT count(*) FROM post_lsh").fetchone()[0] == 0


def test_absurd_input_is_stored_safely_scrubbed_and_counted(tmp_path: Path, enricher) -> None:
    """A 1 MB post, empty and invisible-only texts, a lone surrogate, bidi overrides, control
    characters and emoji: no stage crashes, the huge post is cut with a flag, empty ones are
    skipped and counted, and personal data never reaches the warehouse."""
    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse.enrich import enrich_pending

    posts = [
        _post("reddit:t3_huge", "Utrecht " + "parkeren is duur " * 70_000),
        _post("reddit:t3_empty", ""),
        _post("reddit:t3_blank", " \n\t "),
        _post("reddit:t3_invisible", "\u200b\u200d\ufeff\u2066"),
        _post("reddit:t3_surrogate", "Utrecht \ud83d half emoji en \x00\x07 besturing"),
        _post("reddit:t3_rtl", "Utrecht \u202egnikrap\u202c in Lombok"),
        _post("reddit:t3_emoji", "Utrecht 🚲🚲🚲🌳"),
        _post("reddit:t3_pii", "Mail de wethouder in Utrecht: j.jansen@example.nl of bel 06-12345678."),
    ]
    with connect(tmp_path / "w.duckdb") as con:
        counts = store_result(con, SourceResult("test:reddit", posts=posts), GAZ, begin_run(con, "live"))
        assert (counts.fetched, counts.new, counts.skipped_empty, counts.truncated) == (8, 5, 3, 1)
        recorded = con.execute("SELECT skipped_empty, truncated FROM run_sources").fetchone()
        assert recorded == (3, 1)
        huge = con.execute(
            "SELECT length(text), text_truncated FROM posts WHERE post_id = 'reddit:t3_huge'"
        ).fetchone()
        assert huge[0] <= 100_000 and huge[1] is True
        texts = dict(con.execute("SELECT post_id, text FROM posts").fetchall())
        assert "\ud83d" not in texts["reddit:t3_surrogate"] and "\x00" not in texts["reddit:t3_surrogate"]
        assert "\u202e" not in texts["reddit:t3_rtl"]
        assert texts["reddit:t3_emoji"].endswith("🚲🚲🚲🌳")
        pii = con.execute("SELECT text, pii_replaced FROM posts WHERE post_id = 'reddit:t3_pii'").fetchone()
        assert "example.nl" not in pii[0] and "12345678" not in pii[0]
        assert "[e-mail]" in pii[0] and "[telefoon]" in pii[0] and pii[1] == 2
        done = enrich_pending(con, enricher, EvidenceModel(load_model("citisens")))
        assert (
            done == con.execute("SELECT count(*) FROM posts WHERE municipality_id IS NOT NULL").fetchone()[0]
        )
        scores = con.execute("SELECT min(sentiment_score), max(sentiment_score) FROM enrichment").fetchone()
        assert -1.0 <= scores[0] <= scores[1] <= 1.0


def _enrichment_rows(con) -> dict[str, list[tuple]]:
    """The rows of the three enrichment tables, without the time they were written."""
    return {
        "enrichment": con.execute("SELECT * EXCLUDE (enriched_at) FROM enrichment ORDER BY ALL").fetchall(),
        "post_topics": con.execute("SELECT * FROM post_topics ORDER BY ALL").fetchall(),
        "post_signals": con.execute("SELECT * FROM post_signals ORDER BY ALL").fetchall(),
    }


def test_changed_text_or_missing_signals_replace_their_rows_and_nothing_else(
    tmp_path: Path, enricher
) -> None:
    """Only posts with rows to replace are deleted first; the others are inserted as new."""
    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse.enrich import enrich_pending

    evidence = EvidenceModel(load_model("citisens"))
    posts = [
        _post("reddit:t3_a", "Utrecht: parkeren in Lombok is veel te duur, de gemeente luistert niet."),
        _post("reddit:t3_b", "In Utrecht is het nieuwe park in Lombok echt mooi geworden, top!"),
        _post("reddit:t3_c", "Utrecht wil minder auto's in Lombok; ik snap het besluit van de gemeente."),
    ]
    with connect(tmp_path / "w.duckdb") as con:
        store_result(con, SourceResult("test:reddit", posts=posts), GAZ, begin_run(con, "live"))
        assert enrich_pending(con, enricher, evidence) == 3
        before = _enrichment_rows(con)
        assert before["post_topics"] and len(before["post_signals"]) == 3
        # One post's hash changes (as when the hashing scheme changes); another loses its signals.
        con.execute("UPDATE posts SET content_hash = 'changed' WHERE post_id = 'reddit:t3_a'")
        con.execute("DELETE FROM post_signals WHERE post_id = 'reddit:t3_b'")
        assert enrich_pending(con, enricher, evidence) == 2
        assert enrich_pending(con, enricher, evidence) == 0
        hashes = dict(con.execute("SELECT post_id, content_hash FROM enrichment").fetchall())
        assert hashes["reddit:t3_a"] == "changed" and len(hashes) == 3
        after = _enrichment_rows(con)
        assert after["post_topics"] == before["post_topics"]
        assert after["post_signals"] == before["post_signals"]
        assert [r for r in after["enrichment"] if r[0] != "reddit:t3_a"] == [
            r for r in before["enrichment"] if r[0] != "reddit:t3_a"
        ]


def test_a_residents_post_carries_profile_evidence_on_any_platform(tmp_path: Path, enricher) -> None:
    """Profile signals are computed for every resident's post (not an article, with an author key),
    whatever the platform; news articles and posts without an author get none."""
    from dataclasses import replace

    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse.enrich import enrich_pending

    posts = [
        replace(_post(f"{source}:1", text), source=source, channel=channel)
        for source, channel, text in (
            ("bluesky", "bsky:search:utrecht", "Utrecht: parkeren in Lombok is veel te duur, zeg!"),
            ("mastodon", "#utrecht@mastodon.nl", "Mooi dat het park in Lombok eindelijk open is, Utrecht."),
        )
    ]
    article = replace(_post("rss:1", LONG, kind="article"), source="rss", channel="Krant", author_key=None)
    posts.append(article)
    with connect(tmp_path / "w.duckdb") as con:
        store_result(con, SourceResult("test:mixed", posts=posts), GAZ, begin_run(con, "live"))
        assert enrich_pending(con, enricher, EvidenceModel(load_model("citisens"))) == 3
        signalled = {r[0] for r in con.execute("SELECT post_id FROM post_signals").fetchall()}
    assert signalled == {"bluesky:1", "mastodon:1"}


def test_the_same_words_on_two_platforms_are_one_voice_item_not_two(tmp_path: Path) -> None:
    """A resident who posts the same text on Bluesky and Mastodon (or a copy across platforms) is
    counted once: the later item is linked to the first as a duplicate, whatever the platform."""
    from dataclasses import replace

    text = "Utrecht: de gemeente moet de fietsenstalling bij Lombok echt groter maken, elke dag vol."
    first = replace(_post("bluesky:a", text), source="bluesky", channel="bsky:search:utrecht")
    again = replace(
        _post("mastodon:b", text + " #utrecht"), source="mastodon", channel="#utrecht@mastodon.nl"
    )
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        store_result(con, SourceResult("bluesky:utrecht", posts=[first]), GAZ, run)
        store_result(con, SourceResult("mastodon:utrecht", posts=[again]), GAZ, run)
        rows = con.execute("SELECT post_id, duplicate_of FROM posts ORDER BY post_id").fetchall()
    assert rows == [("bluesky:a", None), ("mastodon:b", "bluesky:a")]


def _overlap_posts() -> list[Post]:
    """Relevant posts, one off-topic (no municipality) and one repost (a duplicate): in chunks of 2."""
    texts = [
        "Utrecht: parkeren in Lombok is veel te duur, de gemeente luistert niet naar de buurt.",
        "In Utrecht is het nieuwe park in Lombok echt mooi geworden, top gedaan!",
        "Huren in Amsterdam is niet te doen, en de wachtlijst wordt alleen maar langer.",
        "Utrecht wil minder auto's in Lombok; ik snap het besluit van de gemeente wel.",
        "Waarom sluit de bibliotheek in Lombok? Utrecht bezuinigt weer op de verkeerde dingen.",
        LONG,
        LONG + " ",  # the same text again
        "De fietsenstalling bij Utrecht Centraal is vol, elke ochtend weer, gemeente doe iets!",
    ]
    return [_post(f"reddit:t3_{i}", text) for i, text in enumerate(texts)]


def _compute_in_thread(pool, enricher, evidence):
    """A submit function that computes on another thread, as a runner computes elsewhere."""
    from warehouse.enrich import compute_batch

    return lambda group: pool.submit(lambda: [compute_batch(b, enricher, evidence) for b in group])


def test_enrichment_taken_while_storing_equals_enriching_afterwards(tmp_path: Path, enricher, monkeypatch):
    """Posts handed to the NLP chunk by chunk during the store give exactly the rows of enriching
    after the store, and nothing is computed twice."""
    from concurrent.futures import ThreadPoolExecutor

    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse import store
    from warehouse.enrich import EnrichmentRun, enrich_pending

    monkeypatch.setattr(store, "CHUNK", 2)
    evidence = EvidenceModel(load_model("citisens"))
    delivery = SourceResult("test:reddit", posts=_overlap_posts())
    with connect(tmp_path / "after.duckdb") as con:
        store_result(con, delivery, GAZ, begin_run(con, "live"))
        expected_count = enrich_pending(con, enricher, evidence)
        expected = _enrichment_rows(con)
    submitted: list[list] = []
    with ThreadPoolExecutor(1) as pool, connect(tmp_path / "during.duckdb") as con:
        compute = _compute_in_thread(pool, enricher, evidence)
        enrichment = EnrichmentRun(enricher.version, evidence, lambda g: submitted.append(g) or compute(g))
        store_result(con, delivery, GAZ, begin_run(con, "live"), on_chunk=enrichment.take)
        during = [row[0] for group in submitted for batch in group for row in batch]
        assert enrichment.finish(con) == expected_count == 6
        assert _enrichment_rows(con) == expected
    # taken as their chunks were stored, one group per chunk (all four have a relevant new post),
    # each post once: not the off-topic post (t3_2) nor the repost (t3_6)
    assert len(submitted) == 4 and sorted(during) == [f"reddit:t3_{i}" for i in (0, 1, 3, 4, 5, 7)]


def test_early_results_are_written_only_for_posts_still_pending(tmp_path: Path, enricher, monkeypatch):
    """A store that fails after two chunks were handed out keeps those chunks but not the source's
    state; an early result of a post deleted since is not written; storing the delivery again
    stores the rest, and every post is enriched once."""
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse import store
    from warehouse.enrich import EnrichmentRun

    monkeypatch.setattr(store, "CHUNK", 2)
    evidence = EvidenceModel(load_model("citisens"))
    delivery = SourceResult("test:reddit", posts=_overlap_posts())
    with ThreadPoolExecutor(1) as pool, connect(tmp_path / "w.duckdb") as con:
        compute = _compute_in_thread(pool, enricher, evidence)
        failing = EnrichmentRun(enricher.version, evidence, compute)

        def take_then_fail(con, post_ids: list[str]) -> None:
            failing.take(con, post_ids)
            if len(failing.outcomes) == 2:
                raise RuntimeError("the store fails after two chunks were handed out")

        with pytest.raises(RuntimeError):
            store_result(con, delivery, GAZ, begin_run(con, "live"), on_chunk=take_then_fail)
        assert sorted(failing.taken) == ["reddit:t3_0", "reddit:t3_1", "reddit:t3_3"]
        # each chunk is committed before it is handed out: the two stay, the state does not move
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM source_state").fetchone()[0] == 0
        store.mark_deleted(con, ["reddit:t3_1"])  # removed at the source, as a later delivery says
        assert failing.finish(con) == 2  # computed for three, written for the two still pending

        enrichment = EnrichmentRun(enricher.version, evidence, compute)
        store_result(con, delivery, GAZ, begin_run(con, "live"), on_chunk=enrichment.take)
        assert enrichment.finish(con) == 3
        enriched = [r[0] for r in con.execute("SELECT post_id FROM enrichment ORDER BY 1").fetchall()]
        assert enriched == [f"reddit:t3_{i}" for i in (0, 3, 4, 5, 7)]
        again = EnrichmentRun(enricher.version, evidence, compute)
        assert again.finish(con) == 0 and again.outcomes == []
