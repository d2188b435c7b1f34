"""Shared fixtures. One Prefect test harness per session: starting it is the slow part."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from tests import DATA

# A test that uses one of these runs a real Prefect flow (directly or through a fixture): it belongs
# to the slow tier, marked here so that a new test cannot forget it. `pytest -m "not slow"` is the
# fast tier; tests that start a flow in a subprocess are marked slow where they are written.
FLOW_FIXTURES = {"prefect_harness", "sample_run", "demo_run"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if FLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def vcr_cassette_dir() -> str:
    return str(DATA / "cassettes")


@pytest.fixture(scope="session")
def vcr_config() -> dict:
    """Recorded HTTP only: the token header never reaches a cassette; local servers are not recorded."""
    return {"filter_headers": ["authorization"], "ignore_localhost": True, "record_mode": "none"}


@pytest.fixture
def pseudonymiser():
    from sources.pseudonym import Pseudonymiser

    return Pseudonymiser(b"test-key-of-32-bytes-for-hmac-ok")


@pytest.fixture(scope="session")
def enricher():
    from nlp.pipeline import get_enricher

    return get_enricher()


MINIMAL_CONFIG = """
profile_model = "citisens"            # a shipped model id, or a path to a model file
retention_days = 90

[warehouse]
path = "data/warehouse.duckdb"

[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
places = ["Lombok", "Kanaleneiland", "Overvecht", "Leidsche Rijn"]

  [[municipalities.feeds]]
  name = "Lokaal nieuws"
  url = "https://example.org/nieuws.rss"

  [municipalities.reddit]            # optional; skipped with one clear line when no credentials are set
  subreddits = ["Utrecht"]
  search = ["gemeente Utrecht"]
"""


@pytest.fixture
def minimal_config(tmp_path: Path) -> Path:
    path = tmp_path / "betrokken.toml"
    path.write_text(MINIMAL_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_run(prefect_harness) -> Callable[[Path], dict]:
    """Runs the nightly flow on the bundled sample into a folder (as `betrokken demo` does)."""
    from flows.nightly import nightly
    from sources.sample import demo_config_path, sample_end

    def run(out: Path) -> dict:
        return nightly(
            config_path=str(demo_config_path()),
            mode="sample",
            warehouse_path=str(out / "warehouse.duckdb"),
            report_path=str(out / "report.html"),
            as_of=sample_end().date(),
        )

    return run


@pytest.fixture(scope="session")
def demo_run(sample_run, tmp_path_factory) -> tuple[Path, dict, dict]:
    """The nightly flow on the bundled sample, run twice (the second run must add nothing)."""
    import duckdb

    from warehouse.db import table_counts

    out = tmp_path_factory.mktemp("demo")
    first = sample_run(out)
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        counts_first = table_counts(con)
    second = sample_run(out)
    return out, first, {"first": counts_first, "second_summary": second}
