"""Commands for the privacy officer: purge raw text past retention, and forget an item or an author."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from flows.commands.common import (
    EXIT_BUSY,
    EXIT_FAILED,
    check_config,
    console,
    fail,
    plural,
)
from flows.commands.options import MaintenanceWarehouseOption, WarehouseConfigOption

# How an item is named in an erasure request, for the message of one that cannot be matched.
ITEM_FORMS = (
    "give a Bluesky at:// URI (or https://bsky.app/profile/<did>/post/<id>), a Mastodon status as "
    "https://<instance>/@<user>/<id>, or the stored id as v_posts.post_id shows it (reddit:t1_abc or t1_abc)"
)


def maintenance_target(command: str, warehouse: Path | None, config: Path | None) -> tuple[Path, Path]:
    """The warehouse and the author key file of a command that deletes data: always named by the
    user. A default (the demo's warehouse, say) would let a purge or an erasure quietly change a
    warehouse nobody meant, or answer an erasure request from the wrong one."""
    if warehouse is None and config is None:
        fail(
            f"{command} deletes data and never guesses the warehouse: give --warehouse FILE or --config FILE"
        )
    if config is None:
        assert warehouse is not None
        return warehouse, warehouse.parent / "betrokken.key"
    settings = check_config(config)
    if warehouse is not None and warehouse.resolve() != settings.warehouse.path.resolve():
        fail(
            f"--warehouse {warehouse} is not the warehouse of --config {config} "
            f"({settings.warehouse.path}): give one of them"
        )
    return settings.warehouse.path, settings.key_file()


def _searched(items: dict[str, int]) -> str:
    """What a request searched: the items per source, in words."""
    per_source = ", ".join(f"{source} {n}" for source, n in items.items())
    return plural(sum(items.values()), "item") + (f" ({per_source})" if per_source else "")


def nothing_found(con: Any, path: Path, item: str, author_key: str | None, platform: str | None) -> NoReturn:
    """An erasure request that matched no stored item: exit 1, saying what was searched and how
    ids and names are matched, so the request is never closed by mistake. An author is still kept
    out of later runs (a person may ask before anything of theirs is stored)."""
    from sources.registry import author_forms
    from warehouse.privacy import erase_posts, erased_on, items_per_source

    before = erased_on(con, author_key=author_key, source_id=None if author_key else item)
    answered = (
        f" It was erased before, on {before:%Y-%m-%d}, and is kept out of runs since." if before else ""
    )
    if author_key is None:
        fail(
            f"no stored item has the id {item}: nothing was erased.{answered} Searched "
            f"{_searched(items_per_source(con))} in {path}; {ITEM_FORMS}",
            EXIT_FAILED,
        )
    erase_posts(con, [], author_key=author_key)
    fail(
        f"no stored item is by that author: nothing was erased.{answered} Searched "
        f"{_searched(items_per_source(con, with_author=True))} with an author in {path}, by the keyed "
        f"hash of the name read as a {platform} account; names match whatever their case, written as "
        f"{author_forms()}. The name is kept out of later runs.",
        EXIT_FAILED,
    )


@contextmanager
def exclusive(path: Path) -> Iterator[Any]:
    """The run lock and a writable connection; exits 4 while a nightly run holds the warehouse."""
    from warehouse.db import WarehouseError, connect
    from warehouse.lock import RunInProgress, RunLock

    if not path.exists():
        fail(f"at {path}", EXIT_FAILED, "No warehouse")
    try:
        with RunLock(path), connect(path) as con:
            yield con
    except RunInProgress as exc:
        fail(f"{exc}; try again when it has finished", EXIT_BUSY, "Not done:", "yellow")
    except WarehouseError as exc:
        fail(str(exc), EXIT_FAILED)


def purge(
    older_than: Annotated[
        int, typer.Option("--older-than", min=0, help="Purge text of items older than DAYS.")
    ],
    warehouse: MaintenanceWarehouseOption = None,
    config: WarehouseConfigOption = None,
) -> None:
    """Remove the raw text (title and body) of items older than DAYS; enrichment and aggregates stay.

    The nightly run does this itself with retention_days; the researchers' snapshot and Parquet
    export are rewritten so the text leaves them too. The warehouse is never assumed: give
    --warehouse or --config. Example: betrokken purge --older-than 90 -c FILE
    """
    from warehouse.privacy import purge_text
    from warehouse.publish import publish

    path, _ = maintenance_target("purge", warehouse, config)
    with exclusive(path) as con:
        purged = purge_text(con, older_than)
        publish(con, path)
    console.print(
        f"purged the text of {plural(purged, 'item')} older than {plural(older_than, 'day')}; "
        "snapshot and export rewritten",
        highlight=False,
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
        str | None,
        typer.Option(
            "--author",
            help="An account as its platform writes it: a Reddit name (u/ may lead), a Mastodon "
            "user@instance or https://instance/@user, a Bluesky DID.",
        ),
    ] = None,
    warehouse: MaintenanceWarehouseOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse and key from here.")
    ] = None,
) -> None:
    """Erase one item, or everything from one author, from the warehouse, snapshot and export.

    The name is hashed with the author key (never stored or printed); its items and all that was
    derived from them are deleted, and the item or author is never stored again. Aggregates are
    recomputed on the next run. A request that matches nothing erases nothing and exits 1, so it
    is never closed by mistake. The warehouse is never assumed: give --warehouse or --config.
    Example: betrokken forget --author "u/some_user" -c betrokken.toml
    """
    from sources.pseudonym import Pseudonymiser, load_key
    from sources.registry import author_forms, author_name, stored_id
    from warehouse.privacy import erase_posts, posts_by_id, posts_of_author
    from warehouse.publish import publish

    if (source_id is None) == (author is None):
        fail("give exactly one of --source-id or --author")
    path, key_file = maintenance_target("forget", warehouse, config)
    account = author_name(author) if author is not None else None
    if author is not None and account is None:
        # the name itself is never printed, not even when it cannot be read
        fail(f"--author: not an account this tool can match; write it as {author_forms()}")
    has_key = key_file.exists() or bool(os.environ.get("BETROKKEN_AUTHOR_KEY"))
    if author is not None and not has_key:
        fail(f"at {key_file}: without it no name can be matched", EXIT_FAILED, "No author key")
    pseudonymiser = Pseudonymiser(load_key(key_file)) if has_key else None
    author_key = pseudonymiser.author_key(account[1]) if account and pseudonymiser else None
    item = (source_id or "").strip()
    if item.startswith(("at://", "http://", "https://")):
        # Bluesky and Mastodon items are stored under a keyed hash of their URI: found from it here.
        if pseudonymiser is None:
            fail(f"at {key_file}: without it no address can be matched", EXIT_FAILED, "No author key")
        if (item := stored_id(item, pseudonymiser)) == source_id.strip():
            fail(f"--source-id: not an address this tool can match; {ITEM_FORMS}")
    with exclusive(path) as con:
        ids = posts_of_author(con, author_key) if author_key else posts_by_id(con, item)
        if not ids:
            nothing_found(con, path, item, author_key, account[0] if account else None)
        erased = erase_posts(con, ids, author_key=author_key)
        publish(con, path)
    what = "that author" if author_key else f"item {item}"
    kept = plural(erased.duplicates_released, "copy", "copies")
    console.print(
        f"erased {plural(erased.posts, 'item')} of {what} and {plural(erased.derived_rows, 'derived row')}; "
        f"{kept} by others kept; snapshot and export rewritten",
        highlight=False,
        markup=False,
    )
