"""MinHash near-duplicate detection: the estimate, the batch, and a warehouse built with an older scheme."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sources.base import Post, SourceResult, normalise_for_hash
from sources.dedup import BANDS, MIN_WORDS, NUM_PERM, SCHEME, fingerprints, similarity
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.db import begin_run, connect
from warehouse.near import ensure_near_index
from warehouse.store import store_result

GAZ = Gazetteer([GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ())])
WHEN = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_signatures_estimate_the_jaccard_similarity_of_word_shingles() -> None:
    rng = random.Random(7)
    vocabulary = [f"woord{i}" for i in range(3000)]
    texts, truth = [], []
    for _ in range(200):
        a = [rng.choice(vocabulary) for _ in range(rng.randint(MIN_WORDS, 150))]
        b = list(a)
        for i in rng.sample(range(len(a)), rng.randint(0, len(a) * 3 // 4)):
            b[i] = rng.choice(vocabulary)
        texts += [" ".join(a), " ".join(b)]
        sa, sb = _shingles(a), _shingles(b)
        truth.append(len(sa & sb) / len(sa | sb))
    prints = fingerprints(texts)
    assert prints.texts.tolist() == list(range(400))  # every text has enough words
    estimate = np.array(
        [similarity(prints.signatures[2 * i], prints.signatures[2 * i + 1]) for i in range(200)]
    )
    error = estimate - np.array(truth)
    # 126 values: the standard error of one estimate is at most sqrt(0.25 / 126) = 0.045
    assert abs(error.mean()) < 0.01
    assert np.sqrt((error**2).mean()) < 0.045
    assert prints.signatures.dtype == np.uint32 and prints.signatures.shape == (400, NUM_PERM)
    assert prints.buckets.shape == (400, BANDS) and int(prints.buckets.max()) < 2**63  # fits BIGINT


def test_a_batch_gives_each_text_the_fingerprint_it_has_alone() -> None:
    texts = [
        "te kort",
        " ".join(f"w{i}" for i in range(40)),
        "",
        " ".join(f"w{i}" for i in range(10, 60)),
        " ".join(["zelfde"] * 20),
    ]
    batch = fingerprints(texts)
    assert batch.texts.tolist() == [1, 3, 4]  # "te kort" and "" are too short
    for i, text in enumerate(texts):
        alone = fingerprints([text])
        if i not in batch.texts:
            assert len(alone) == 0
        else:
            row = batch.texts.tolist().index(i)
            assert np.array_equal(batch.signatures[row], alone.signatures[0])
            assert np.array_equal(batch.buckets[row], alone.buckets[0])
    assert 0.4 < similarity(batch.signatures[0], batch.signatures[1]) < 0.8  # true Jaccard 28/68 = 0.41


def test_index_of_an_older_scheme_is_rebuilt_before_new_posts_are_compared(tmp_path: Path) -> None:
    story = (
        "De gemeente Utrecht gaat in Lombok de Kanaalstraat autoluw maken na een proef van een jaar met "
        "bloembakken en meer ruimte voor fietsers en voetgangers op de stoep"
    )
    original = Post("reddit:t3_o", "reddit", "post", "r/utrecht", WHEN, story, author_key="a1")
    repost = Post(
        "reddit:t3_r",
        "reddit",
        "post",
        "r/utrecht",
        WHEN + timedelta(days=1),
        story + " vanaf maart",
        author_key="a2",
    )
    with connect(tmp_path / "w.duckdb") as con:
        store_result(con, SourceResult("s:1", posts=[original]), GAZ, begin_run(con, "live"))
        # built (empty) before the first delivery, which then added its item
        assert con.execute("SELECT scheme, posts FROM near_index").fetchall() == [(SCHEME, 0)]
        assert con.execute("SELECT count(*) FROM post_minhash").fetchone()[0] == 1
        # what a warehouse indexed by an older scheme looks like: signatures that mean nothing now
        con.execute("UPDATE near_index SET scheme = 'older'")
        con.execute("UPDATE post_minhash SET signature = repeat('\\x00', 504)::BLOB")
        con.execute("UPDATE post_lsh SET bucket = 1")
        counts = store_result(con, SourceResult("s:2", posts=[repost]), GAZ, begin_run(con, "live"))
        assert counts.duplicate == 1
        assert con.execute(
            "SELECT duplicate_of, duplicate_kind FROM posts WHERE post_id = 'reddit:t3_r'"
        ).fetchone() == (
            "reddit:t3_o",
            "near",
        )
        assert con.execute("SELECT scheme, posts FROM near_index").fetchall() == [(SCHEME, 1)]
        signature = con.execute("SELECT signature FROM post_minhash").fetchone()[0]
        expected = fingerprints([normalise_for_hash(story)])
        assert np.array_equal(np.frombuffer(signature, dtype="<u4"), expected.signatures[0])
        assert con.execute("SELECT count(*) FROM post_lsh WHERE bucket = 1").fetchone()[0] == 0


def chunked_delivery(when: datetime) -> list[Post]:
    """Nine posts whose links cross chunks: an original, a near and an exact copy of it, a thread
    and five comments that inherit its municipality (also the kill test's delivery)."""
    story = " ".join(f"woord{i}" for i in range(30)) + " in Lombok"
    return [
        Post("reddit:t3_a", "reddit", "post", "r/utrecht", when, story, author_key="a"),
        Post("reddit:t3_b", "reddit", "post", "r/utrecht", when, "Utrecht " + story, author_key="b"),  # near
        Post("reddit:t3_c", "reddit", "post", "r/utrecht", when, story.upper(), author_key="c"),  # exact
        Post("reddit:t3_d", "reddit", "post", "r/nederland", when, "Een nieuwe draad over Utrecht"),
    ] + [
        Post(
            f"reddit:t1_{i}",
            "reddit",
            "comment",
            "r/nederland",
            when,
            f"Reactie nummer {i}",
            thread_id="reddit:t3_d",
        )
        for i in range(5)
    ]


def test_a_delivery_stored_in_chunks_gives_the_rows_of_one_pass(tmp_path: Path, monkeypatch) -> None:
    import warehouse.store as store

    posts = chunked_delivery(WHEN)
    tables = {}
    for chunk in (1_000, 1):  # one pass, and every item in a chunk of its own
        monkeypatch.setattr(store, "CHUNK", chunk)
        with connect(tmp_path / f"w{chunk}.duckdb") as con:
            counts = store_result(con, SourceResult("s", posts=posts), GAZ, begin_run(con, "live"))
            tables[chunk] = (
                counts.new,
                counts.duplicate,
                con.execute(
                    "SELECT post_id, municipality_id, relevance, duplicate_of, duplicate_kind "
                    "FROM posts ORDER BY 1"
                ).fetchall(),
                con.execute("SELECT post_id FROM post_minhash ORDER BY 1").fetchall(),
            )
    assert tables[1] == tables[1_000]
    new, duplicates, rows, _ = tables[1]
    assert (new, duplicates) == (9, 2)
    linked = {r[0]: (r[3], r[4]) for r in rows}
    assert linked["reddit:t3_b"] == ("reddit:t3_a", "near") and linked["reddit:t3_c"] == (
        "reddit:t3_a",
        "exact",
    )
    assert all(r[1] == "utrecht" and r[2] == "thread" for r in rows if r[0].startswith("reddit:t1_"))


def test_a_rebuild_in_chunks_writes_the_index_of_one_pass(tmp_path: Path) -> None:
    posts = [
        Post(
            f"reddit:t3_{i}",
            "reddit",
            "post",
            "r/utrecht",
            WHEN,
            f"verhaal {i} " + " ".join(f"w{i}x{j}" for j in range(20)),
        )
        for i in range(5)
    ]
    indexes = {}
    for chunk in (1_000, 2):
        with connect(tmp_path / f"w{chunk}.duckdb") as con:
            store_result(con, SourceResult("s", posts=posts), GAZ, begin_run(con, "live"))
            con.execute("UPDATE near_index SET scheme = 'older'")
            assert ensure_near_index(con, chunk) == 5
            indexes[chunk] = (
                con.execute("SELECT post_id, signature FROM post_minhash ORDER BY 1").fetchall(),
                con.execute("SELECT * FROM post_lsh ORDER BY ALL").fetchall(),
                con.execute("SELECT scheme, posts FROM near_index").fetchall(),
            )
    assert indexes[2] == indexes[1_000]
    assert len(indexes[2][0]) == 5 and len(indexes[2][1]) == 5 * 42 and indexes[2][2] == [(SCHEME, 5)]


def test_a_near_duplicate_links_to_an_original_of_its_group_within_the_window(
    tmp_path: Path, monkeypatch
) -> None:
    """Candidates are originals only (a copy of a near-duplicate links to the first story), of the
    same dedup group (an article is not a copy of a resident's post), and at most NEAR_WINDOW apart;
    the outcome does not depend on how the delivery is chunked."""
    import warehouse.store as store

    story = " ".join(f"woord{i}" for i in range(30)) + " in Lombok"
    day = timedelta(days=1)

    def post(key: str, text: str, when: datetime, kind: str = "post") -> Post:
        source = "rss" if kind == "article" else "reddit"
        return Post(f"{source}:{key}", source, kind, "r/utrecht", when, text, author_key=key)

    posts = [
        post("a", story, WHEN),
        post("b", "Utrecht " + story, WHEN + day),  # near a
        post("c", ("Utrecht " + story).upper(), WHEN + 2 * day),  # the text of b, a near-duplicate
        post("d", story + " en Utrecht", WHEN + day, kind="article"),  # another group
        post("e", story + " opnieuw", WHEN + 45 * day),  # too late to be a copy
        post("f", "Gisteren " + story, WHEN + 46 * day),  # near e
    ]
    links = {}
    for chunk in (1_000, 1):
        monkeypatch.setattr(store, "CHUNK", chunk)
        with connect(tmp_path / f"w{chunk}.duckdb") as con:
            store_result(con, SourceResult("s", posts=posts), GAZ, begin_run(con, "live"))
            rows = con.execute("SELECT post_id, duplicate_of, duplicate_kind FROM posts").fetchall()
            links[chunk] = {post_id: (original, kind) for post_id, original, kind in rows}
    assert links[1] == links[1_000]
    assert links[1] == {
        "reddit:a": (None, None),
        "reddit:b": ("reddit:a", "near"),
        "reddit:c": ("reddit:a", "near"),
        "rss:d": (None, None),
        "reddit:e": (None, None),
        "reddit:f": ("reddit:e", "near"),
    }


@pytest.mark.slow
def test_a_flood_of_near_copies_is_linked_to_its_first_without_comparing_every_pair(tmp_path: Path) -> None:
    """A copy-paste campaign (3,000 near-identical comments in one delivery) links every copy to
    the first; only originals are candidates, so memory stays far below comparing every pair of
    the flood (about 4.5 million pairs, each under some 25 shared buckets)."""
    import tracemalloc

    story = " ".join(f"woord{i}" for i in range(30)) + " in Lombok"
    posts = [
        Post(f"reddit:t1_{i}", "reddit", "comment", "r/utrecht", WHEN + timedelta(seconds=i), f"{story} {i}")
        for i in range(3_000)
    ]
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        tracemalloc.start()
        try:
            counts = store_result(con, SourceResult("s", posts=posts), GAZ, run)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        originals = con.execute(
            "SELECT count(*) FILTER (WHERE duplicate_of IS NULL), count(DISTINCT duplicate_of) FROM posts"
        ).fetchone()
    assert counts.new == 3_000 and counts.duplicate == 2_999
    assert originals == (1, 1)
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB traced while storing the flood"


def test_the_search_links_every_item_as_comparing_it_with_each_earlier_original(
    tmp_path: Path, monkeypatch
) -> None:
    """The array search (stored items and sparse buckets compared at once, crowded buckets item by
    item) links each item as the plain definition does: in the store's order, to the most similar
    earlier original that shares a bucket, is in its group and window and reaches SIMILARITY (the
    oldest among equals); whatever the chunk size and however crowded a bucket counts."""
    import warehouse.near as near
    import warehouse.store as store
    from sources.dedup import SIMILARITY
    from warehouse.near import NEAR_WINDOW, dedup_group

    rng = random.Random(11)
    vocabulary = [f"woord{i}" for i in range(80)]
    stories = [[rng.choice(vocabulary) for _ in range(30)] for _ in range(15)]
    posts = []
    for i in range(400):
        words = list(rng.choice(stories))
        for j in rng.sample(range(30), rng.randint(0, 8)):
            words[j] = rng.choice(vocabulary)
        kind, source = ("article", "rss") if i % 5 == 0 else ("post", "reddit")
        when = WHEN + timedelta(days=rng.randint(0, 70), seconds=i)
        posts.append(Post(f"{source}:{i:04d}", source, kind, "r/utrecht", when, " ".join(words) + f" nr{i}"))

    order = sorted(posts, key=lambda p: (p.kind == "comment", p.created_utc, p.post_id))
    prints = fingerprints([normalise_for_hash(p.full_text) for p in order])
    assert prints.texts.tolist() == list(range(len(order)))
    expected, originals = {}, []
    for i, item in enumerate(order):
        best = None
        for o in originals:
            other = order[o]
            if dedup_group(other.kind) != dedup_group(item.kind):
                continue
            if abs(other.created_utc - item.created_utc) > NEAR_WINDOW:
                continue
            if not np.any(prints.buckets[o] == prints.buckets[i]):
                continue
            score = similarity(prints.signatures[i], prints.signatures[o])
            if score >= SIMILARITY:
                best = min(best or (2.0,), (-score, other.created_utc, other.post_id))
        if best is None:
            originals.append(i)
        else:
            expected[item.post_id] = best[2]
    assert 50 < len(expected) < 350  # the delivery has plenty of both

    for chunk, crowded in ((1_000, near.CROWDED), (37, near.CROWDED), (37, 2), (1_000, 2)):
        monkeypatch.setattr(store, "CHUNK", chunk)
        monkeypatch.setattr(near, "CROWDED", crowded)
        with connect(tmp_path / f"w{chunk}-{crowded}.duckdb") as con:
            store_result(con, SourceResult("s", posts=posts), GAZ, begin_run(con, "live"))
            rows = con.execute("SELECT post_id, duplicate_of, duplicate_kind FROM posts").fetchall()
        assert {post_id: linked for post_id, linked, kind in rows if kind == "near"} == expected, (
            chunk,
            crowded,
        )
        assert all(kind in (None, "near") for _, _, kind in rows)
