"""The pure ingest step (sources/ingest.py): the rows follow from its arguments alone.

The near-duplicate search it is given is the warehouse's own, over an empty warehouse: the step's
own decisions are what these tests look at.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sources.base import Post, content_hash
from sources.ingest import MIN_DUPLICATE_CHARS, Prepared, decide, ingest_order, not_erased, prepare
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.db import connect
from warehouse.store import near_search

GAZ = Gazetteer(
    [
        GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ("r/utrecht",)),
        GazetteerEntry("overbetuwe", ("Overbetuwe",), ("Elst",), ()),
    ]
)
WHEN = datetime(2026, 10, 1, 12, tzinfo=UTC)
STORED_AT = datetime(2026, 10, 2, tzinfo=UTC)
LONG = "de gemeente gaat de parkeertarieven in het centrum volgend jaar flink verhogen zegt de wethouder"
OTHER = "het nieuwe zwembad opent pas na de zomer omdat de aannemer failliet is gegaan vorige maand"


def _post(post_id: str, text: str, kind: str = "post", **fields) -> Post:
    defaults = {"channel": "r/nederland", "created_utc": WHEN, "author_key": "a" * 16}
    thread = {"thread_id": fields.pop("thread_id", None)} if kind == "comment" else {"thread_id": post_id}
    return Post(post_id=post_id, source="reddit", kind=kind, text=text, **{**defaults, **thread, **fields})


@pytest.fixture
def con(tmp_path: Path):
    con = connect(tmp_path / "warehouse.duckdb")
    yield con
    con.close()


def _decide(con, prepared: Prepared, threads=None, known=None):
    near = near_search(con, prepared)
    return decide(prepared, GAZ, threads or {}, known or {}, near, "reddit:utrecht", 7, STORED_AT)


def test_prepare_cleans_new_items_once_and_reports_stored_ones_deleted_now() -> None:
    chunk = [
        _post("reddit:t3_stored", LONG),
        _post("reddit:t3_gone", "", is_deleted=True),
        _post("reddit:t3_twice", OTHER),
        _post("reddit:t3_twice", OTHER + " en nog wat"),
        _post("reddit:t3_blank", " \u200b\u0000 "),
        _post(
            "reddit:t3_mail",
            "Mail me op jan.devries@example.nl over de kermis in Elst, die duurt dit jaar veel te lang",
        ),
    ]
    prepared = prepare(chunk, {"reddit:t3_stored", "reddit:t3_gone"})
    assert [p.post_id for p in prepared.posts] == ["reddit:t3_twice", "reddit:t3_mail"]
    assert prepared.posts[0].text == OTHER  # the first listing of an item counts
    assert prepared.deleted_now == ["reddit:t3_gone"]
    assert prepared.skipped_empty == 1
    mail = prepared.posts[1]
    assert "jan.devries" not in mail.text and "Elst" in mail.text
    assert prepared.hygiene[mail.post_id].pii_replaced >= 1
    assert prepared.hygiene["reddit:t3_twice"].pii_replaced == 0
    for post in prepared.posts:
        assert prepared.hashes[post.post_id] == content_hash(post.full_text)
    # OTHER has enough words for a fingerprint; the e-mail text too; both in the chunk's order
    assert [p.post_id for p in prepared.printed] == ["reddit:t3_twice", "reddit:t3_mail"]


def test_prepare_fingerprints_no_deleted_item() -> None:
    prepared = prepare([_post("reddit:t3_d", LONG, is_deleted=True), _post("reddit:t3_k", LONG)], set())
    assert [p.post_id for p in prepared.posts] == ["reddit:t3_d", "reddit:t3_k"]
    assert [p.post_id for p in prepared.printed] == ["reddit:t3_k"]


def test_decide_links_exact_copies_to_the_stored_original_or_the_first_in_the_chunk(con) -> None:
    chunk = [
        _post("reddit:t3_a", LONG),
        _post("reddit:t3_b", LONG.upper() + "  "),  # case and spacing do not count
        _post("reddit:t3_c", OTHER, created_utc=WHEN + timedelta(hours=1)),
        _post("reddit:t3_d", "+1"),
        _post("reddit:t3_e", "+1"),
    ]
    known = {content_hash(OTHER): "rss:stored", content_hash("+1"): "reddit:t3_old"}
    decided = _decide(con, prepare(chunk, set()), known=known)
    by_id = {row.post_id: row for row in decided.rows}
    assert (by_id["reddit:t3_a"].duplicate_of, by_id["reddit:t3_a"].duplicate_kind) == (None, None)
    assert (by_id["reddit:t3_b"].duplicate_of, by_id["reddit:t3_b"].duplicate_kind) == (
        "reddit:t3_a",
        "exact",
    )
    assert (by_id["reddit:t3_c"].duplicate_of, by_id["reddit:t3_c"].duplicate_kind) == ("rss:stored", "exact")
    assert len("+1") < MIN_DUPLICATE_CHARS  # short texts are the same by chance: never copies
    assert by_id["reddit:t3_d"].duplicate_of is None and by_id["reddit:t3_e"].duplicate_of is None
    assert decided.duplicates == 2
    assert len(known) == 2 and "reddit:t3_a" not in known.values()  # what was passed in is left alone


def test_decide_links_a_near_copy_and_keeps_only_originals_for_the_index(con) -> None:
    edited = LONG.replace("flink", "fors")
    chunk = [_post("reddit:t3_first", LONG), _post("reddit:t3_edit", edited), _post("reddit:t3_new", OTHER)]
    prepared = prepare(chunk, set())
    decided = _decide(con, prepared)
    by_id = {row.post_id: row for row in decided.rows}
    assert (by_id["reddit:t3_edit"].duplicate_of, by_id["reddit:t3_edit"].duplicate_kind) == (
        "reddit:t3_first",
        "near",
    )
    assert [prepared.printed[row].post_id for row in decided.originals] == [
        "reddit:t3_first",
        "reddit:t3_new",
    ]


def test_decide_gives_comments_their_threads_municipality(con) -> None:
    chunk = ingest_order(
        [
            _post("reddit:t1_new", "eens, dat is een goed idee", kind="comment", thread_id="reddit:t3_here"),
            _post("reddit:t3_here", "Nieuwe fietsenstalling in Lombok"),
            _post("reddit:t1_old", "ik ben het er niet mee eens", kind="comment", thread_id="reddit:t3_old"),
            _post("reddit:t1_lost", "waar gaat dit over", kind="comment", thread_id="reddit:t3_unknown"),
            _post("reddit:t1_elst", "in Elst is het net zo", kind="comment", thread_id="reddit:t3_old"),
        ]
    )
    threads = {"reddit:t3_old": "utrecht"}
    decided = _decide(con, prepare(chunk, set()), threads=threads)
    found = {row.post_id: (row.municipality_id, row.relevance) for row in decided.rows}
    assert found["reddit:t3_here"] == ("utrecht", "named")
    assert found["reddit:t1_new"] == ("utrecht", "thread")  # from a thread in the same chunk
    assert found["reddit:t1_old"] == ("utrecht", "thread")  # from a stored thread
    assert found["reddit:t1_lost"] == (None, "none")
    assert found["reddit:t1_elst"] == ("overbetuwe", "named")  # a place name wins over the thread
    assert threads == {"reddit:t3_old": "utrecht"}


def test_decide_rows_carry_the_delivery_and_no_text_of_a_deleted_item(con) -> None:
    chunk = [_post("reddit:t3_x", LONG), _post("reddit:t3_y", "weg", is_deleted=True, author_key=None)]
    first = _decide(con, prepare(chunk, set())).rows
    again = _decide(con, prepare(chunk, set())).rows
    assert first == again  # the same arguments, the same rows
    x, y = first
    assert (x.source_key, x.first_run_id, x.stored_at, x.text) == ("reddit:utrecht", 7, STORED_AT, LONG)
    assert y.is_deleted and y.text is None and y.duplicate_of is None


def test_not_erased_drops_erased_items_and_every_item_of_an_erased_author() -> None:
    posts = [
        _post("reddit:t3_1", LONG),
        _post("reddit:t3_2", OTHER, author_key="b" * 16),
        _post("reddit:t3_3", LONG),
    ]
    assert not_erased(posts, set(), set()) == posts
    kept = not_erased(posts, {"reddit:t3_1"}, {"b" * 16})
    assert [p.post_id for p in kept] == ["reddit:t3_3"]


def test_ingest_order_puts_threads_before_their_comments() -> None:
    late = WHEN + timedelta(days=1)
    posts = [
        _post("reddit:t1_c", "x", kind="comment", thread_id="reddit:t3_b"),
        _post("reddit:t3_b", "y", created_utc=late),
        _post("reddit:t3_a", "z"),
    ]
    assert [p.post_id for p in ingest_order(posts)] == ["reddit:t3_a", "reddit:t3_b", "reddit:t1_c"]
    assert ingest_order(reversed(posts)) == ingest_order(posts)
