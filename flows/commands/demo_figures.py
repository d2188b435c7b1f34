"""How close the demo's estimates come to the mix the sample was written with, for the README.

The README's figures about the demo (voices per source, mean absolute error, intervals that hold the
intended share) are written here from a demo warehouse, never typed by hand:
``python -m flows.commands.demo_figures`` runs the demo into a temporary folder and rewrites the part
of README.md between the two marker lines; ``--warehouse`` measures an existing demo warehouse
instead, and ``--check`` only says whether the README is up to date (a test runs the same check on
the test session's demo run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.markers import replace_between, rewrite

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- demo figures: written by `python -m flows.commands.demo_figures` from a demo run -->"
END = "<!-- end of the demo figures -->"
SOURCE_NAMES = {"reddit": "Reddit", "bluesky": "Bluesky", "mastodon": "Mastodon", "rss": "news feeds"}


@dataclass(frozen=True)
class DemoFigures:
    """The demo's estimates against the intended mix, over every municipality's overall shares."""

    voices_by_source: dict[str, int]
    mean_abs_error: float
    intervals_holding: int
    intervals: int

    @property
    def voices(self) -> int:
        return sum(self.voices_by_source.values())


def measure(warehouse: Path, intended: dict[str, dict[str, int]]) -> DemoFigures:
    """Compare the latest overall shares in ``warehouse`` with the intended voices per profile.

    Rows without a share (a suppressed group) count as intervals that do not hold and add no error
    term, so a demo that stops estimating cannot look better than one that estimates badly.
    """
    from warehouse.db import connect
    from warehouse.queries import overall_shares, voices_by_source

    with connect(warehouse, read_only=True) as con:
        rows = overall_shares(con)
        voices = voices_by_source(con)
    if not rows:
        raise ValueError(f"{warehouse} holds no estimates: run `betrokken demo` first")
    errors: list[float] = []
    holding = 0
    for row in rows:
        mix = intended.get(row["municipality"], {})
        want = mix.get(row["profile_id"], 0) / sum(mix.values()) if mix else 0.0
        if row["online_share"] is None:
            continue
        errors.append(abs(row["online_share"] - want))
        holding += row["online_lower"] - 1e-9 <= want <= row["online_upper"] + 1e-9
    return DemoFigures(voices, sum(errors) / max(len(errors), 1), holding, len(rows))


def summary_line(figures: DemoFigures) -> str:
    """One sentence for the demo's own output."""
    return (
        f"Against the intended mix: mean absolute error {figures.mean_abs_error:.3f} per profile; "
        f"{figures.intervals_holding} of {figures.intervals} intervals hold the intended share."
    )


def render(figures: DemoFigures) -> str:
    """The README's paragraph about the demo, between its markers."""
    sources = ", ".join(
        f"{n} {SOURCE_NAMES.get(source, source)}" for source, n in sorted(figures.voices_by_source.items())
    )
    body = (
        "On the bundled demo sample (written by this project with a known mix, never fitted on; "
        f"{figures.voices} voices: {sources}), the shipped evidence with Bayesian CC has a mean "
        f"absolute error of {figures.mean_abs_error:.3f} per profile against the intended mix, and "
        f"{figures.intervals_holding} of {figures.intervals} intervals hold the intended share."
    )
    return f"{BEGIN}\n{textwrap.fill(body, width=100)}\n{END}\n"


def with_figures(text: str, figures: DemoFigures) -> str:
    """``text`` (the README) with the demo paragraph replaced by the one for ``figures``."""
    return replace_between(text, BEGIN, END, render(figures))


def run_demo(out: Path) -> Path:
    """Run the nightly flow on the bundled sample into ``out``, as `betrokken demo` does; the warehouse."""
    from flows.nightly import nightly
    from sources.sample import demo_config_path, sample_end

    warehouse = out / "warehouse.duckdb"
    nightly(
        config_path=str(demo_config_path()),
        mode="sample",
        warehouse_path=str(warehouse),
        report_path=str(out / "report.html"),
        as_of=sample_end().date(),
    )
    return warehouse


def main(argv: list[str] | None = None) -> int:
    from sources.sample import intended_mix

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, help="a demo warehouse to measure (default: run the demo)")
    parser.add_argument("--check", action="store_true", help="only report whether README.md is up to date")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    intended: dict[str, Any] = intended_mix()["voices"]
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = args.warehouse or run_demo(Path(tmp))
        figures = measure(warehouse, intended)
    print(summary_line(figures))
    updated = with_figures(args.readme.read_text(encoding="utf-8"), figures)
    return rewrite(
        args.readme, updated, "the demo figures", "python -m flows.commands.demo_figures", check=args.check
    )


if __name__ == "__main__":
    sys.exit(main())
