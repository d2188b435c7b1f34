"""Every table the commands print, drawn here once.

The share table is the one readers compare between ``demo``, ``gap`` and ``estimate``, so its cells
(shares as percentages with their interval, the index, the status and why it is unknown) are
formatted by one set of functions whichever command prints it.

Titles and cells that come from data (paths, ids, names, reasons, a CSV's labels) are escaped here,
so square brackets in them are shown, never taken for rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from flows.commands.common import plural

if TYPE_CHECKING:
    import numpy as np

NO_SHARE = "–"


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One profile's line of a share table, whichever query or estimate it comes from."""

    profile: str
    population_share: float
    online_share: float | None
    online_lower: float | None
    online_upper: float | None
    status: str
    status_reason: str | None = None
    representation_index: float | None = None
    population_is_assumption: bool = False
    municipality: str = ""
    n_voices: int = 0

    @classmethod
    def from_gap_row(cls, row: dict[str, Any]) -> ShareRow:
        """A row of ``v_reach_gap`` (as a dict), as the warehouse queries return it."""
        return cls(
            profile=row["profile_name"],
            population_share=row["population_share"],
            online_share=row["online_share"],
            online_lower=row["online_lower"],
            online_upper=row["online_upper"],
            status=row["status"],
            status_reason=row.get("status_reason"),
            representation_index=row.get("representation_index"),
            population_is_assumption=bool(row.get("population_share_is_assumption")),
            municipality=row["municipality"],
            n_voices=row["n_voices"],
        )


def status_text(status: str, reason: str | None) -> str:
    """The status as printed: an unknown one says why (few voices, little evidence)."""
    return f"{status} ({reason.replace('_', ' ')})" if status == "unknown" and reason else status


def _online(row: ShareRow) -> str:
    if row.online_share is None:
        return NO_SHARE
    return f"{row.online_share:.0%} ({row.online_lower:.0%}–{row.online_upper:.0%})"


def _index(row: ShareRow) -> str:
    return NO_SHARE if row.representation_index is None else f"{row.representation_index:.2f}"


def _population(row: ShareRow) -> str:
    return f"{row.population_share:.0%}" + (" (assumed)" if row.population_is_assumption else "")


# The columns a share table can have: header and cell. "online" is given its header by the caller.
_SHARE_CELLS = {
    "municipality": lambda r: escape(r.municipality),
    "profile": lambda r: escape(r.profile),
    "voices": lambda r: str(r.n_voices),
    "population": _population,
    "online": _online,
    "index": _index,
    "status": lambda r: escape(status_text(r.status, r.status_reason)),
}


def share_table(
    title: str,
    rows: Iterable[ShareRow],
    columns: Sequence[str],
    online_header: str = "online (interval)",
    extra: tuple[str, Sequence[str]] | None = None,
) -> Table:
    """Online share per profile with its interval, in the ``columns`` asked for (see _SHARE_CELLS).

    ``extra`` adds one last column (header, a cell per row), such as the demo's intended mix.
    """
    table = Table(title=escape(title), title_justify="left")
    for column in columns:
        table.add_column(online_header if column == "online" else column)
    if extra:
        table.add_column(extra[0])
    for i, row in enumerate(rows):
        cells = [_SHARE_CELLS[column](row) for column in columns]
        if extra:
            cells.append(escape(extra[1][i]))
        table.add_row(*cells)
    return table


RUN_CAPTION = (
    "rep: listed again in the same delivery, skipped; dup: duplicates linked; "
    "empty: skipped, nothing visible; cut: truncated at 100,000 chars"
)


def source_notes(source: dict[str, Any]) -> list[str]:
    """What a run's line for a source says besides its counts: why it failed, then its warnings
    (a feed cut off in transit, items that may have been missed), each as stored in ``run_sources``."""
    notes = [source["reason"]] if source["reason"] else []
    return notes + [f"warning: {w}" for w in source.get("warnings") or ()]


def run_table(summary: dict[str, Any]) -> Table:
    """One line per source of a nightly run: what was fetched, stored, skipped, and why it failed."""
    table = Table(title=escape(f"Run {summary['run_id']}: {summary['status']}"), title_justify="left")
    table.add_column("source", overflow="fold", min_width=18)
    table.add_column("status")
    for column in ("fetched", "rep", "new", "dup", "empty", "cut", "s"):
        table.add_column(column, justify="right")
    table.add_column("reason, warnings", overflow="fold")
    table.caption = RUN_CAPTION
    for s in summary["sources"]:
        table.add_row(
            escape(s["source_key"]),
            escape(s["status"]),
            str(s["fetched"]),
            str(s.get("repeated", 0)),
            str(s["new"]),
            str(s["duplicate"]),
            str(s.get("skipped_empty", 0)),
            str(s.get("truncated", 0)),
            f"{s['duration_s']:.2f}",
            escape("\n".join(source_notes(s))),
        )
    return table


def run_lines(summary: dict[str, Any]) -> list[str]:
    """The run table as plain lines, for a log without a terminal (cron, systemd): a title, then one
    whole line per source, never cut or wrapped, without box drawing."""
    lines = [f"Run {summary['run_id']}: {summary['status']}"]
    for s in summary["sources"]:
        if s["status"] == "ok":
            repeated = s.get("repeated", 0)
            skipped = f" ({plural(repeated, 'repeated item')} skipped)" if repeated else ""
            fetched = f"{s['fetched']} fetched{skipped}"
            counts = (
                f"{fetched}, {s['new']} new, {s['duplicate']} dup, {s.get('skipped_empty', 0)} empty, "
                f"{s.get('truncated', 0)} cut, "
            )
        else:
            counts = ""
        line = f"{s['source_key']}: {s['status']}, {counts}{s['duration_s']:.2f} s"
        lines.append("; ".join([line, *source_notes(s)]))
    return lines


def probe_table(title: str, rows: Iterable[tuple[str, str, int, str]]) -> Table:
    """What each source returned when reached once: (source, status, items, reason) per row, as
    plain text; a failed source's status is shown in red."""
    table = Table(title=escape(title), title_justify="left")
    for column in ("source", "status", "items", "reason"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for key, status, items, reason in rows:
        shown = "[red]failed[/red]" if status == "failed" else escape(status)
        table.add_row(escape(key), shown, str(items), escape(reason))
    return table


def classification_table(report: Any) -> Table:
    """Precision, recall and F1 per class of an NLP evaluation (nlp.evaluate's report)."""
    table = Table(
        title=escape(
            f"{report.task}: n={report.n}, accuracy {report.accuracy:.3f}, "
            f"macro F1 {report.macro_f1:.3f}, {report.docs_per_s:.0f} docs/s"
        ),
        title_justify="left",
    )
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for c in report.per_class:
        table.add_row(escape(c.label), f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support))
    notes = []
    if baseline := report.extra.get("majority_baseline"):
        notes.append(
            f"always {baseline['label']}: accuracy {baseline['accuracy']:.3f}, "
            f"macro F1 {baseline['macro_f1']:.3f}"
        )
    if "no_topic_share" in report.extra:
        notes.append(f"no topic: {report.extra['no_topic_share']:.1%} of texts")
    if "top_topic_accuracy" in report.extra:
        notes.append(f"best topic right: {report.extra['top_topic_accuracy']:.1%} of texts with a gold topic")
    if notes:
        table.caption = "; ".join(notes)
        table.caption_justify = "left"
    return table


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (label, prediction) pairs: rows are the labels, columns the predictions."""
    import numpy as np

    confusion = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    return confusion


def confusion_table(title: str, ids: Sequence[str], confusion: np.ndarray) -> Table:
    """The confusion matrix with a row per label and a column per predicted profile."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("label")
    for pid in ids:
        table.add_column(escape(pid[:6]), justify="right")
    for i, pid in enumerate(ids):
        table.add_row(escape(pid), *(str(v) for v in confusion[i]))
    return table


def protocol_table(title: str, scores: Iterable[Any]) -> Table:
    """Per estimation method, the artificial-prevalence scores (profiles.protocol)."""
    table = Table(title=escape(title), title_justify="left")
    columns = ("method", "MAE", "MAE prior", "ratio", "coverage", "false alarm", "false reass.", "unknown")
    for column in columns:
        table.add_column(column, justify="left" if column == "method" else "right")
    for s in scores:
        table.add_row(
            s.method,
            f"{s.mae:.4f}",
            f"{s.mae_prior:.4f}",
            f"{s.mae_ratio:.2f}",
            f"{s.coverage:.3f}",
            f"{s.false_alarm:.3f}",
            f"{s.false_reassurance:.3f}",
            f"{s.unknown:.2f}",
        )
    return table


def result_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """The rows of a researcher's query, NULL spelt out and markup in values shown as written."""
    table = Table(title=plural(len(rows), "row"), title_justify="left")
    for name in names:
        table.add_column(escape(name))
    for row in rows:
        table.add_row(*("NULL" if v is None else escape(str(v)) for v in row))
    return table
