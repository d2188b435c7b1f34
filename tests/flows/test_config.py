from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import ConfigError, load_settings
from tests import REPO


def test_config_minimal_shape_from_the_issue_is_accepted(minimal_config: Path) -> None:
    settings = load_settings(minimal_config)
    utrecht = settings.municipalities[0]
    assert utrecht.cbs_code == "GM0344"
    assert utrecht.reddit is not None and utrecht.reddit.subreddits == ["Utrecht"]
    assert str(utrecht.feeds[0].url) == "https://example.org/nieuws.rss"
    # relative paths are resolved against the config file's folder
    assert settings.warehouse.path == minimal_config.parent / "data" / "warehouse.duckdb"
    assert settings.estimation.min_cell_size == 10


def test_config_example_file_is_valid() -> None:
    settings = load_settings(REPO / "betrokken.example.toml")
    assert [m.cbs_code for m in settings.municipalities] == ["GM0344", "GM1734"]


def test_config_unknown_key_names_file_and_key(minimal_config: Path) -> None:
    minimal_config.write_text(minimal_config.read_text().replace("retention_days", "retention_dayz"))
    with pytest.raises(ConfigError) as exc:
        load_settings(minimal_config)
    message = str(exc.value)
    assert str(minimal_config) in message
    assert "retention_dayz: unknown key" in message


def test_config_invalid_value_says_what_is_expected(minimal_config: Path) -> None:
    minimal_config.write_text(minimal_config.read_text().replace('"GM0344"', '"0344"'))
    with pytest.raises(ConfigError) as exc:
        load_settings(minimal_config)
    assert "municipalities[0].cbs_code" in str(exc.value)
    assert "GM" in str(exc.value) and "'0344'" in str(exc.value)


def test_config_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy betrokken\.example\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_config_broken_toml_reports_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("profile_model = \n")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML.*line 1"):
        load_settings(path)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("retention_days", "retention_dayz"), "retention_dayz: unknown key"),
        (lambda t: t.replace("retention_days = 90", "retention_days = -1"), "retention_days"),
        (lambda t: t.replace('"citisens"', '"nonexistent"'), "profile_model"),
    ],
)
def test_cli_config_errors_exit_2_with_message(minimal_config: Path, edit, expected: str) -> None:
    minimal_config.write_text(edit(minimal_config.read_text()))
    result = CliRunner().invoke(app, ["run", "--config", str(minimal_config)])
    assert result.exit_code == 2
    assert expected in result.output
    assert str(minimal_config) in result.output.replace("\n", "")


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "not found" in result.output


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["check"]])
def test_cli_help_on_every_command(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_cli_sources_check_reports_each_source_and_fails_when_one_does(
    httpserver, tmp_path: Path, monkeypatch
) -> None:
    for var in (
        "BETROKKEN_REDDIT_CLIENT_ID",
        "BETROKKEN_REDDIT_CLIENT_SECRET",
        "BETROKKEN_REDDIT_USER_AGENT",
    ):
        monkeypatch.delenv(var, raising=False)
    feed = (REPO / "sources" / "sample" / "feeds" / "domstad-nieuws.rss").read_bytes()
    httpserver.expect_request("/ok.rss").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/down.rss").respond_with_data("", status=503)
    config = tmp_path / "c.toml"
    config.write_text(f"""
[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
  [[municipalities.feeds]]
  name = "Goed"
  url = "{httpserver.url_for("/ok.rss")}"
  [[municipalities.feeds]]
  name = "Plat"
  url = "{httpserver.url_for("/down.rss")}"
  [municipalities.reddit]
  subreddits = ["Utrecht"]
""")
    result = CliRunner().invoke(app, ["sources", "check", "--config", str(config)], terminal_width=200)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any("rss:utrecht:Goed" in line and " ok " in line and " 26 " in line for line in lines)
    assert any("rss:utrecht:Plat" in line and "failed" in line and "HTTP 503" in line for line in lines)
    assert any("reddit" in line and "skipped" in line for line in lines)
    assert not (tmp_path / "data").exists()  # checking stores nothing


def test_cli_sources_check_a_feed_that_is_no_feed_is_a_row_with_its_reason(
    httpserver, tmp_path: Path
) -> None:
    feed = (REPO / "sources" / "sample" / "feeds" / "domstad-nieuws.rss").read_bytes()
    httpserver.expect_request("/ok.rss").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/empty.rss").respond_with_data(b"", content_type="application/rss+xml")
    httpserver.expect_request("/login").respond_with_data(
        "<html><p>Log in</p></html>", content_type="text/html"
    )
    config = tmp_path / "c.toml"
    config.write_text(f"""
[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
  [[municipalities.feeds]]
  name = "Leeg"
  url = "{httpserver.url_for("/empty.rss")}"
  [[municipalities.feeds]]
  name = "Muur"
  url = "{httpserver.url_for("/login")}"
  [[municipalities.feeds]]
  name = "Goed"
  url = "{httpserver.url_for("/ok.rss")}"
""")
    result = CliRunner().invoke(app, ["sources", "check", "--config", str(config)], terminal_width=200)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = result.output.splitlines()
    assert any("rss:utrecht:Leeg" in line and "Leeg: empty response" in line for line in lines)
    assert any("rss:utrecht:Muur" in line and "Muur: HTML page, not a feed" in line for line in lines)
    assert any("rss:utrecht:Goed" in line and " ok " in line and " 26 " in line for line in lines)


def test_config_status_band_defaults_reach_the_thresholds(minimal_config: Path) -> None:
    from flows.wiring import estimate_settings

    thresholds = estimate_settings(load_settings(minimal_config).estimation).thresholds
    assert (thresholds.proportional_low, thresholds.proportional_high) == (0.67, 1.5)
    text = minimal_config.read_text() + "\n[estimation]\nproportional_low = 0.8\nproportional_high = 1.25\n"
    minimal_config.write_text(text)
    thresholds = estimate_settings(load_settings(minimal_config).estimation).thresholds
    assert (thresholds.proportional_low, thresholds.proportional_high) == (0.8, 1.25)


@pytest.mark.parametrize(
    ("lines", "key", "fix"),
    [
        ("proportional_low = 1.2", "proportional_low = 1.2", "set proportional_low at most 1"),
        ("proportional_high = 0.9", "proportional_high = 0.9", "set proportional_high at least 1"),
        ("under_below = 1.1", "under_below = 1.1", "set under_below at most 1"),
        ("absent_below = 1.0", "absent_below = 1.0", "set absent_below below under_below"),
        ("over_above = 0.9", "over_above = 0.9", "set over_above at least 1"),
    ],
)
def test_config_thresholds_out_of_order_name_the_key_and_the_fix(
    minimal_config: Path, lines: str, key: str, fix: str
) -> None:
    minimal_config.write_text(minimal_config.read_text() + f"\n[estimation]\n{lines}\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(minimal_config)
    message = str(exc.value)
    assert str(minimal_config) in message and "estimation" in message
    assert key in message and fix in message


def test_municipality_kind_comes_from_the_gazetteer_unless_configured(minimal_config: Path) -> None:
    """What the warehouse records of a municipality's kind (city or villages), which picks its advice."""
    from flows.wiring import municipality_rows

    assert [row[-1] for row in municipality_rows(load_settings(minimal_config))] == ["city"]
    text = minimal_config.read_text()
    minimal_config.write_text(text.replace('cbs_code = "GM0344"', 'cbs_code = "GM0344"\nkind = "villages"'))
    assert [row[-1] for row in municipality_rows(load_settings(minimal_config))] == ["villages"]
    minimal_config.write_text(text.replace('"GM0344"', '"GM9999"'))  # no shipped gazetteer
    assert [row[-1] for row in municipality_rows(load_settings(minimal_config))] == [None]
    minimal_config.write_text(text.replace('cbs_code = "GM0344"', 'cbs_code = "GM0344"\nkind = "town"'))
    with pytest.raises(ConfigError) as exc:
        load_settings(minimal_config)
    assert "municipalities[0].kind" in str(exc.value) and "'city'" in str(exc.value)


def test_config_learnt_sentiment_backend_reaches_the_enricher_options(minimal_config: Path) -> None:
    from nlp.version import nlp_version

    minimal_config.write_text(minimal_config.read_text() + '\n[nlp]\nsentiment_backend = "learnt"\n')
    options = load_settings(minimal_config).nlp.backend_options()
    assert options.learnt_sentiment and options.sentiment_model is None
    assert nlp_version(options).endswith("|sentiment=learnt")
