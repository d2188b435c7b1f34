"""A digest of a warehouse's rows, to show that a change to the code left the data alone.

Every table is read in a stable order, without the columns that differ between two runs of the
same code (clock times, durations, the run's id); one line per table with its row count and a hash
of its rows. Two demo warehouses built by different code give the same lines when the change kept
the rows; give the second the first one's key (``betrokken.key``), as the author keys and the ids of
Bluesky and Mastodon posts depend on it (the estimates do not: they are the same with any key):

    betrokken demo --out /tmp/a
    mkdir /tmp/b && cp /tmp/a/betrokken.key /tmp/b/ && betrokken demo --out /tmp/b
    diff <(python -m bench.digest /tmp/a/warehouse.duckdb) <(python -m bench.digest /tmp/b/warehouse.duckdb)
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import duckdb

# Columns whose values differ between two runs of the same code on the same data, besides every
# clock time (a name ending in "_at").
VOLATILE = {"duration_s", "summary", "run_id", "state"}


def table_digests(path: Path) -> dict[str, tuple[int, str]]:
    """Table name -> (rows, hash of the rows without the volatile columns)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        digests = {}
        for table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in VOLATILE and not r[0].endswith("_at")
            ]
            if not columns:
                continue
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"SELECT {listed} FROM {table} ORDER BY ALL").fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
            digests[table] = (len(rows), digest)
        return digests
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    for table, (n, digest) in table_digests(args.warehouse).items():
        print(f"{table:<20} {n:>7} {digest}")


if __name__ == "__main__":
    main()
