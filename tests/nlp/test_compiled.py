"""The NLP modules compiled by mypyc at install time (setup.py): what runs, and that it is the same."""

import json
import os
import shutil
from pathlib import Path

import pytest

import nlp
from tests import DATA, REPO, fresh_python

RECORDED = nlp.recorded_modules()  # this checkout's build, empty if it compiled nothing
PLAIN_ONLY = os.environ.get(nlp.NOT_COMPILED) == "0"
needs_build = pytest.mark.skipif(PLAIN_ONLY, reason=f"{nlp.NOT_COMPILED}=0: installed as plain Python")
compiled_only = pytest.mark.skipif(not RECORDED or PLAIN_ONLY, reason="no compiled build")

# Prints where each recorded module was loaded from, and any warning the import gave, one per line.
WHAT_RUNS = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import nlp
    names = json.loads((nlp.PACKAGE_DIR / nlp.COMPILED_MANIFEST).read_text())
    modules = [__import__(name, fromlist=["_"]) for name in sorted(names)]
for module in modules:
    print(module.__name__, module.__file__.rsplit(".", 1)[1])
for warning in caught:
    print("warning:", warning.message)
"""


@needs_build
def test_the_installed_nlp_is_compiled_from_these_sources():
    """`make test` installs the package, which compiles the hot modules: the tests run that build."""
    assert RECORDED, "no compiled build: run `make install` (or set BETROKKEN_COMPILED=0)"
    assert {"nlp.pipeline", "nlp.sentiment", "nlp.topics"} <= set(RECORDED)
    assert nlp.why_plain_python(RECORDED) is None, "sources edited since the build: `make install`"
    lines = fresh_python(WHAT_RUNS).splitlines()
    assert lines == [f"{name} so" for name in sorted(RECORDED)]


def _package_copy(tmp_path: Path, recorded: dict[str, str]) -> Path:
    """The nlp package (with whatever the build put in it) in ``tmp_path``, ``recorded`` as its
    manifest."""
    shutil.copytree(REPO / "nlp", tmp_path / "nlp", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "nlp" / nlp.COMPILED_MANIFEST).write_text(json.dumps(recorded))
    return tmp_path


def test_a_source_edited_after_the_build_makes_all_recorded_modules_plain_python(tmp_path):
    """One stale module sends every recorded one back to its source, with a warning naming it."""
    names = ("nlp.literals", "nlp.topics")
    recorded = {name: nlp.source_hash(nlp.module_source(name)) for name in names}
    recorded["nlp.topics"] = "0" * 64  # as if topics.py had been edited since
    lines = fresh_python(WHAT_RUNS, cwd=_package_copy(tmp_path, recorded)).splitlines()
    assert lines[:2] == ["nlp.literals py", "nlp.topics py"]
    assert len(lines) == 3 and lines[2].startswith("warning: nlp.topics changed since it was compiled")


@compiled_only
def test_unchanged_sources_run_compiled_unless_told_not_to(tmp_path):
    folder = _package_copy(tmp_path, RECORDED)
    compiled = fresh_python(WHAT_RUNS, cwd=folder).splitlines()
    assert compiled and all(line.endswith(" so") for line in compiled)
    plain = fresh_python(WHAT_RUNS, cwd=folder, environment={nlp.NOT_COMPILED: "0"}).splitlines()
    assert plain == [line.replace(" so", " py") for line in compiled]  # and no warning


# Enriches the development posts and explains their sentiment; prints all of it.
ENRICH = f"""
import csv
from nlp.pipeline import get_enricher
texts = [row["text"] for row in csv.DictReader(open({str(DATA / "nlp_dev.csv")!r}, encoding="utf-8"))]
texts += ["Niet echt leuk!!", "te duur en te laat, maar de bieb is top", "Leuuuuk :) (toch?)", ""]
enricher = get_enricher()
for text, found in zip(texts, enricher.enrich(texts)):
    print(repr(found._replace(words=sorted(found.words))), repr(enricher.explain_sentiment(text)))
"""


@pytest.mark.slow
@compiled_only
def test_compiled_and_plain_python_enrich_alike():
    compiled = fresh_python(ENRICH, timeout=300)
    plain = fresh_python(ENRICH, timeout=300, environment={nlp.NOT_COMPILED: "0"})
    assert compiled.count("\n") > 100
    assert compiled == plain


def test_what_the_nlp_returns_pickles_and_copies():
    """Enrichments, their topic hits and sentiment explanations go between processes and into caches,
    compiled (where a frozen dataclass of a compiled module would not unpickle) as in plain Python."""
    import copy
    import pickle

    from nlp.pipeline import get_enricher

    enricher = get_enricher()
    text = "Niet echt leuk dat de gemeenteraad de huur van het zwembad weer verhoogt!"
    found = next(enricher.enrich([text]))
    sentiment, explanation = enricher.explain_sentiment(text)
    assert found.topics and explanation
    for value in (found, sentiment, explanation, found.topics[0]):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == value
