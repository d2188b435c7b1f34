"""The NLP modules compiled by mypyc at install time (setup.py): what runs, and that it is the same."""

import json
import os
import shutil
from pathlib import Path

import pytest

import nlp
from tests import DATA, REPO, fresh_python

RECORD = nlp.build_record()  # this checkout's build; empty if it compiled nothing
PLAIN_ONLY = os.environ.get(nlp.NOT_COMPILED) == "0"
needs_build = pytest.mark.skipif(PLAIN_ONLY, reason=f"{nlp.NOT_COMPILED}=0: installed as plain Python")
compiled_only = pytest.mark.skipif(not RECORD or PLAIN_ONLY, reason="no compiled build")

# Prints where each module of the record was loaded from, and nlp's warning about it if there was one.
WHAT_RUNS = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import nlp
    names = json.loads((nlp.PACKAGE_DIR / nlp.COMPILED_MANIFEST).read_text())["compiled"]
    modules = [__import__(name, fromlist=["_"]) for name in sorted(names)]
for module in modules:
    print(module.__name__, module.__file__.rsplit(".", 1)[1])
for warning in caught:
    if "the NLP runs as plain Python" in str(warning.message):
        print("warning:", warning.message)
"""


@pytest.mark.slow
@needs_build
def test_the_installed_nlp_is_compiled_from_these_sources():
    """`make test` installs the package, which compiles the hot modules: the tests run that build."""
    assert RECORD, "no compiled build: run `make install` (or set BETROKKEN_COMPILED=0)"
    assert {"nlp.pipeline", "nlp.sentiment", "nlp.topics"} <= set(RECORD["compiled"])
    assert nlp.why_plain_python(RECORD) is None, "the build is stale: `make install`"
    lines = fresh_python(WHAT_RUNS).splitlines()
    assert lines == [f"{name} so" for name in sorted(RECORD["compiled"])]


def _package_copy(tmp_path: Path, record: dict) -> Path:
    """The nlp package as built (compiled files included) in ``tmp_path``, ``record`` as its record."""
    shutil.copytree(REPO / "nlp", tmp_path / "nlp", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "nlp" / nlp.COMPILED_MANIFEST).write_text(json.dumps(record))
    return tmp_path


@pytest.mark.slow
@compiled_only
def test_unchanged_sources_run_compiled_unless_told_not_to(tmp_path):
    folder = _package_copy(tmp_path, RECORD)
    compiled = fresh_python(WHAT_RUNS, cwd=folder).splitlines()
    assert compiled and all(line.endswith(" so") for line in compiled)
    plain = fresh_python(WHAT_RUNS, cwd=folder, environment={nlp.NOT_COMPILED: "0"}).splitlines()
    assert plain == [line.replace(" so", " py") for line in compiled]  # and no warning


@pytest.mark.slow
@compiled_only
def test_any_source_edited_after_the_build_makes_every_compiled_module_plain_python(tmp_path):
    """Even a module that was not compiled (the compiled ones call it): all go back to their source,
    with a warning that names the file."""
    folder = _package_copy(tmp_path, RECORD)
    with (folder / "nlp" / "normalise.py").open("a") as source:
        source.write("# edited\n")
    lines = fresh_python(WHAT_RUNS, cwd=folder).splitlines()
    assert lines[:-1] == [f"{name} py" for name in sorted(RECORD["compiled"])]
    assert lines[-1].startswith("warning: nlp/normalise.py changed since the build")


@pytest.mark.slow
@compiled_only
def test_a_compiled_module_the_record_does_not_name_is_not_run(tmp_path):
    """A compiled file from another build (a module since left out, or the record lost) could be older
    than its source: every compiled module then runs as plain Python."""
    record = {**RECORD, "compiled": [name for name in RECORD["compiled"] if name != "nlp.trust"]}
    lines = fresh_python(WHAT_RUNS, cwd=_package_copy(tmp_path, record)).splitlines()
    assert "nlp.trust" not in " ".join(lines[:-1])  # WHAT_RUNS lists the record's modules only
    assert all(line.endswith(" py") for line in lines[:-1])
    assert lines[-1].startswith("warning: nlp.trust compiled with no record of its sources")


# Enriches the development posts and explains their sentiment; prints which build ran, then all of it.
ENRICH = f"""
import csv
from nlp import pipeline
print(pipeline.__file__.rsplit(".", 1)[1])
texts = [row["text"] for row in csv.DictReader(open({str(DATA / "nlp_dev.csv")!r}, encoding="utf-8"))]
texts += ["Niet echt leuk!!", "te duur en te laat, maar de bieb is top", "Leuuuuk :) (toch?)", ""]
enricher = pipeline.get_enricher()
for text, found in zip(texts, enricher.enrich(texts)):
    print(repr(found._replace(words=sorted(found.words))), repr(enricher.explain_sentiment(text)))
"""


@pytest.mark.slow
@compiled_only
def test_compiled_and_plain_python_enrich_alike(tmp_path):
    """Each with its own table of the vocabulary's words (``_vocabulary_exceptions``), which each then
    computes with its own ``_word``."""
    runs = {}
    for build, plain in (("so", "1"), ("py", "0")):
        environment = {nlp.NOT_COMPILED: plain, "BETROKKEN_CACHE_DIR": str(tmp_path / build)}
        runs[build] = fresh_python(ENRICH, timeout=300, hash_seed="0", environment=environment)
    assert runs["so"].startswith("so\n") and runs["py"].startswith("py\n")
    assert runs["so"].count("\n") > 100
    assert runs["so"][3:] == runs["py"][3:]


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
