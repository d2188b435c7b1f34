"""Progress bars for the long stages, on stderr and only when a person is watching a terminal.

Under cron, systemd or a Prefect worker nothing is drawn, so logs stay clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@contextmanager
def stage_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``update(done)``; draws a bar for ``label`` while the block runs."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
