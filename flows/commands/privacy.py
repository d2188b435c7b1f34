"""Commands for the privacy officer: purge raw text past retention, and forget an item or an author."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from flows.commands.common import (
    EXIT_BUSY,
    EXIT_CONFIG,
    EXIT_FAILED,
    check_config,
    console,
    err,
    warehouse_path,
)
from flows.commands.options import MaintenanceWarehouseOption, WarehouseConfigOption


def maintenance_target(warehouse: Path | None, config: Path | None) -> tuple[Path, Path]:
    """The warehouse and the author key file a maintenance command works on."""
    if config is not None:
        settings = check_config(config)
        return settings.warehouse.path, settings.key_file()
    path = warehouse_path(warehouse, None)
    return path, path.parent / "betrokken.key"


@contextmanager
def exclusive(path: Path) -> Iterator[Any]:
    """The run lock and a writable connection; exits 4 while a nightly run holds the warehouse."""
    from warehouse.db import WarehouseError, connect
    from warehouse.lock import RunInProgress, RunLock

    if not path.exists():
        err.print(f"[red]No warehouse[/red] at {path}")
        raise typer.Exit(EXIT_FAILED)
    try:
        with RunLock(path), connect(path) as con:
            yield con
    except RunInProgress as exc:
        err.print(f"[yellow]Not done[/yellow]: {exc}; try again when it has finished", highlight=False)
        raise typer.Exit(EXIT_BUSY) from None
    except WarehouseError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_FAILED) from None


def purge(
    older_than: Annotated[
        int, typer.Option("--older-than", min=0, help="Purge text of items older than DAYS.")
    ],
    warehouse: MaintenanceWarehouseOption = None,
    config: WarehouseConfigOption = None,
) -> None:
    """Remove the raw text (title and body) of items older than DAYS; enrichment and aggregates stay.

    The nightly run does this itself with retention_days; the researchers' snapshot and Parquet
    export are rewritten so the text leaves them too. Example: betrokken purge --older-than 90 -c FILE
    """
    from warehouse.privacy import purge_text
    from warehouse.publish import publish

    path, _ = maintenance_target(warehouse, config)
    with exclusive(path) as con:
        purged = purge_text(con, older_than)
        publish(con, path)
    console.print(
        f"purged the text of {purged} items older than {older_than} days; snapshot and export rewritten"
    )


def forget(
    source_id: Annotated[
        str | None,
        typer.Option(
            "--source-id",
            help="An item id (reddit:t1_abc or t1_abc), a Bluesky post's at:// URI, or a Mastodon "
            "status's address or URI.",
        ),
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="An author name as it appears at the source.")
    ] = None,
    warehouse: MaintenanceWarehouseOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse and key from here.")
    ] = None,
) -> None:
    """Erase one item, or everything from one author, from the warehouse, snapshot and export.

    The name is hashed with the author key (never stored or printed); its items and all that was
    derived from them are deleted, and the item or author is never stored again. Aggregates are
    recomputed on the next run. Example: betrokken forget --author "some_user" -c betrokken.toml
    """
    from sources.pseudonym import Pseudonymiser, load_key
    from sources.registry import stored_id
    from warehouse.privacy import erase_posts, posts_by_id, posts_of_author
    from warehouse.publish import publish

    if (source_id is None) == (author is None):
        err.print("give exactly one of --source-id or --author")
        raise typer.Exit(EXIT_CONFIG)
    path, key_file = maintenance_target(warehouse, config)
    has_key = key_file.exists() or bool(os.environ.get("BETROKKEN_AUTHOR_KEY"))
    if author is not None and not has_key:
        err.print(f"[red]No author key[/red] at {key_file}: without it no name can be matched")
        raise typer.Exit(EXIT_FAILED)
    pseudonymiser = Pseudonymiser(load_key(key_file)) if has_key else None
    author_key = None
    if author is not None and pseudonymiser is not None:
        author_key = pseudonymiser.author_key(author)
        if author_key is None:
            err.print("--author: give a real author name")
            raise typer.Exit(EXIT_CONFIG)
    item = (source_id or "").strip()
    if item.startswith(("at://", "http://", "https://")):
        # Bluesky and Mastodon items are stored under a keyed hash of their URI: found from it here.
        if pseudonymiser is None:
            err.print(f"[red]No author key[/red] at {key_file}: without it no address can be matched")
            raise typer.Exit(EXIT_FAILED)
        if (item := stored_id(item, pseudonymiser)) == source_id.strip():
            err.print(
                "--source-id: not an address this tool can match; give a Bluesky at:// URI (or "
                "https://bsky.app/profile/<did>/post/<id>), a Mastodon status as "
                "https://<instance>/@<user>/<id>, or the stored id as v_posts.post_id shows it"
            )
            raise typer.Exit(EXIT_CONFIG)
    with exclusive(path) as con:
        ids = posts_of_author(con, author_key) if author_key else posts_by_id(con, item)
        if source_id is not None and not ids:
            err.print(f"no stored item has the id {item}: nothing was erased")
            raise typer.Exit(EXIT_FAILED)
        erased = erase_posts(con, ids, author_key=author_key)
        publish(con, path)
    what = "that author" if author_key else f"item {item}"
    console.print(
        f"erased {erased.posts} items of {what} and {erased.derived_rows} derived rows; "
        f"{erased.duplicates_released} copies by others kept; snapshot and export rewritten"
    )
