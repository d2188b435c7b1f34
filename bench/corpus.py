"""The generated corpus of ``bench/pipeline.py``: posts, the sources that hand them to the nightly
stages, and the config and folder each measured run starts from.

The posts are made once, in the bench's parent process, and saved as one pickle per source: Reddit
threads (submissions and comments, pseudonymous authors with a long tail) and a few news articles for
two municipalities (Utrecht, Overbetuwe) over the last 89 days. Texts come from ``bench/generate.py``,
with a place name or the municipality in most submissions and articles and in a third of the
comments (the others inherit their thread's municipality, as the relevance filter allows).
Generated texts reuse a small set of phrases, so most of them would be near-duplicates of each
other (MinHash over word 3-shingles), be linked to a first copy and never enriched; unless
``plain``, words from the Dutch lemma table of spacy-lookups-data (Zipf-weighted) are mixed in after
about every third word, so that near-duplicates are as rare as in real posts and the vocabulary is as
open as real text.
"""

from __future__ import annotations

import itertools
import json
import pickle
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

KEY = b"bench-key-of-32-bytes-for-hmac!!"

MUNICIPALITIES: dict[str, dict[str, Any]] = {
    "utrecht": {
        "name": "Utrecht",
        "cbs": "GM0344",
        "share": 0.7,
        "subreddit": "utrecht",
        "feed": "Domstad Nieuws",
        "aliases": ["gemeente Utrecht", "Domstad"],
        "places": [
            "Lombok",
            "Kanaleneiland",
            "Overvecht",
            "Leidsche Rijn",
            "Zuilen",
            "Hoograven",
            "Lunetten",
        ],
    },
    "overbetuwe": {
        "name": "Overbetuwe",
        "cbs": "GM1734",
        "share": 0.3,
        "subreddit": "Betuwe",
        "feed": "Betuwe Bode",
        "aliases": ["gemeente Overbetuwe"],
        "places": ["Elst", "Zetten", "Heteren", "Driel", "Randwijk", "Valburg", "Oosterhout"],
    },
}
CONFIG = """# Written by bench/pipeline.py: the two municipalities of the sample, with one feed each.
profile_model = "citisens"
retention_days = 90

[warehouse]
path = "warehouse.duckdb"

[estimation]
method = "bayes"
period_days = 90
n_boot = 1000
level = 0.9
min_cell_size = 10
"""
MENTIONS = (
    "{place}: {text}",
    "{text} Dit speelt in {place}.",
    "Hier in {place}. {text}",
    "{text} (gemeente {name})",
)


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Dutch word forms with Zipf weights (rank assigned at random), for mixing into generated texts."""
    import spacy_lookups_data
    import srsly

    table = Path(spacy_lookups_data.__file__).parent / "data" / "nl_lemma_lookup.json.gz"
    words = sorted(
        w for w in srsly.read_gzip_json(table) if w.isalpha() and w.islower() and 3 <= len(w) <= 14
    )
    rng.shuffle(words)
    weights = [1.0 / (rank + 10) for rank in range(len(words))]
    return words, list(itertools.accumulate(weights))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out.rjust(7, "0")


def make_corpus(n: int, seed: int, plain: bool, now: datetime) -> dict[str, list[Any]]:
    """``n`` posts as {source key: [Post]}: Reddit threads and about 3% news articles."""
    from bench.generate import generate
    from sources.base import Post
    from sources.pseudonym import Pseudonymiser

    rng = random.Random(seed)
    pseudonymiser = Pseudonymiser(KEY)
    texts = generate(n * 2, seed=seed)
    words, cumulative = ([], []) if plain else _vocabulary(rng)

    def text() -> str:
        base = next(texts)
        if plain:
            return base
        out = []
        for word in base.split():
            out.append(word)
            if rng.random() < 0.33:
                out.append(rng.choices(words, cum_weights=cumulative)[0])
        return " ".join(out)

    def mention(body: str, m: dict[str, Any]) -> str:
        place = rng.choice([m["name"], *m["aliases"], *m["places"], *m["places"]])
        return rng.choice(MENTIONS).format(place=place, text=body, name=m["name"])

    authors = {mid: max(20, round(n * m["share"] / 5)) for mid, m in MUNICIPALITIES.items()}
    author_keys: dict[tuple[str, int], str | None] = {}

    def author(mid: str) -> str | None:
        k = int(authors[mid] * rng.random() ** 2.5)
        if (mid, k) not in author_keys:
            author_keys[(mid, k)] = pseudonymiser.author_key(f"{mid}_bewoner_{k}")
        return author_keys[(mid, k)]

    corpus: dict[str, list[Any]] = {}
    ids = iter(range(10**6, 10**9, 7919))
    n_articles = max(2, round(n * 0.03))
    for i in range(n_articles):
        mid = "utrecht" if rng.random() < MUNICIPALITIES["utrecht"]["share"] else "overbetuwe"
        m = MUNICIPALITIES[mid]
        url = f"https://{m['feed'].lower().replace(' ', '-')}.example.org/artikel/{i}"
        body = "\n".join(text() for _ in range(3))
        title = text().split(".")[0][:100]
        corpus.setdefault(f"rss:{mid}:{m['feed']}", []).append(
            Post(
                post_id=f"rss:{i:024x}",
                source="rss",
                kind="article",
                channel=m["feed"],
                created_utc=now - timedelta(seconds=rng.randrange(89 * 86400)),
                title=title,
                text=mention(body, m) if rng.random() < 0.9 else body,
                url=url,
                municipality_hint=mid,
            )
        )
    made = n_articles
    while made < n:
        mid = "utrecht" if rng.random() < MUNICIPALITIES["utrecht"]["share"] else "overbetuwe"
        m = MUNICIPALITIES[mid]
        posts = corpus.setdefault(f"reddit:{mid}", [])
        channel = f"r/{m['subreddit']}"
        thread_native = f"t3_{_base36(next(ids))}"
        thread_id = f"reddit:{thread_native}"
        created = now - timedelta(seconds=rng.randrange(86 * 86400))
        body = text()
        posts.append(
            Post(
                post_id=thread_id,
                source="reddit",
                kind="post",
                channel=channel,
                created_utc=created,
                title=text().split(".")[0][:100],
                text=mention(body, m) if rng.random() < 0.8 else body,
                url=f"https://www.reddit.com/r/{m['subreddit']}/comments/{thread_native[3:]}/",
                thread_id=thread_id,
                author_key=author(mid),
                municipality_hint=mid,
            )
        )
        made += 1
        parents = [thread_id]
        for _ in range(min(n - made, rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 12, 20)))):
            native = f"t1_{_base36(next(ids))}"
            deleted = rng.random() < 0.01
            body = text()
            posts.append(
                Post(
                    post_id=f"reddit:{native}",
                    source="reddit",
                    kind="comment",
                    channel=channel,
                    created_utc=created + timedelta(seconds=rng.randrange(3 * 86400)),
                    text="" if deleted else (mention(body, m) if rng.random() < 0.33 else body),
                    url=f"https://www.reddit.com/r/{m['subreddit']}/comments/{thread_native[3:]}/_/{native[3:]}/",
                    parent_id=rng.choice(parents),
                    thread_id=thread_id,
                    author_key=None if deleted else author(mid),
                    municipality_hint=mid,
                    is_deleted=deleted,
                )
            )
            parents.append(f"reddit:{native}")
            made += 1
    return corpus


def write_workdir(workdir: Path, corpus_dir: Path) -> Path:
    """A config for the two municipalities beside a fresh warehouse; returns the config path."""
    lines = [CONFIG]
    for mid, m in MUNICIPALITIES.items():
        slug = m["feed"].lower().replace(" ", "-")
        lines.append(
            f'[[municipalities]]\nid = "{mid}"\nname = "{m["name"]}"\ncbs_code = "{m["cbs"]}"\n'
            f"aliases = {json.dumps(m['aliases'])}\n"
            f"places = {json.dumps(m['places'], ensure_ascii=False)}\n\n"
            f'  [[municipalities.feeds]]\n  name = "{m["feed"]}"\n  url = "https://{slug}.example.org/feed.rss"\n\n'
            f'  [municipalities.reddit]\n  subreddits = ["{m["subreddit"]}"]\n'
        )
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "betrokken.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    (workdir / "corpus").symlink_to(corpus_dir)
    return config


def write_corpus(corpus: dict[str, list[Any]], corpus_dir: Path) -> None:
    """One pickle per source and an index of them, which ``corpus_sources`` reads."""
    corpus_dir.mkdir(exist_ok=True)
    index = {}
    for i, (key, posts) in enumerate(sorted(corpus.items())):
        name = f"source-{i}.pkl"
        (corpus_dir / name).write_bytes(pickle.dumps(posts, protocol=pickle.HIGHEST_PROTOCOL))
        index[key] = name
    (corpus_dir / "index.json").write_text(json.dumps(index), encoding="utf-8")


class CorpusSource:
    """One source of the generated corpus: ``collect`` reads its pickle, as the sample reads files."""

    def __init__(self, key: str, path: Path) -> None:
        self.key = key
        self.path = path

    def collect(self, state: dict[str, Any]) -> Any:
        from sources.base import SourceResult

        started = time.monotonic()
        posts = pickle.loads(self.path.read_bytes())
        newest = max(p.created_utc for p in posts).isoformat()
        return SourceResult(
            self.key, posts=posts, state={"watermark": newest}, duration_s=time.monotonic() - started
        )


def corpus_sources(workdir: Path) -> list[CorpusSource]:
    index = json.loads((workdir / "corpus" / "index.json").read_text(encoding="utf-8"))
    return [CorpusSource(key, workdir / "corpus" / name) for key, name in index.items()]
