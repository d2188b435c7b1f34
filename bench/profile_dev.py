"""The profile estimates measured across writers, as in the README (not a test: it takes minutes).

    python bench/profile_dev.py [--shared ../shared/profile_dev] [--mixes 200] [--refit]

Converts the two development sets (``writer_a.jsonl``, ``writer_b.jsonl``) to the CSV copies in
``tests/data/profile_dev/``, then runs ``betrokken eval profiles`` four ways: fitted on A and
measured on B, fitted on B and measured on A, and the hand-set model (no labels) on each. With
``--refit`` it also fits the shipped evidence (``profiles/citisens.fit.npz``) on both writers.
Every figure it prints is measured on a writer the evidence was not fitted on.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIES = ROOT / "tests" / "data" / "profile_dev"
FIELDS = ("voice", "profile", "municipality", "channel", "hard", "text")
SHIPPED_SOURCE = (
    "profile_dev writer_a + writer_b: 320 fictional voices written for betrokken from the public "
    "profile descriptions (2026-12-06)"
)


def to_csv(jsonl: list[Path], out: Path) -> Path:
    rows = [
        json.loads(line) for f in jsonl for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({f: r[f] for f in FIELDS} for r in rows)
    return out


def betrokken(*args: str) -> str:
    command = [sys.executable, "-m", "flows.cli", *args]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "profile_dev")
    parser.add_argument("--mixes", type=int, default=200)
    parser.add_argument("--refit", action="store_true")
    args = parser.parse_args()
    a = to_csv([args.shared / "writer_a.jsonl"], COPIES / "writer_a.csv")
    b = to_csv([args.shared / "writer_b.jsonl"], COPIES / "writer_b.csv")
    mixes = ("--mixes", str(args.mixes))
    runs = {
        "fit A, measure B": ("--csv", str(b), "--fit-csv", str(a)),
        "fit B, measure A": ("--csv", str(a), "--fit-csv", str(b)),
        "hand-set, measure A": ("--csv", str(a), "--evidence", "handset"),
        "hand-set, measure B": ("--csv", str(b), "--evidence", "handset"),
    }
    print(
        "| direction | method | MAE | MAE prior | ratio | coverage | false alarm | false reass. | unknown |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        result = json.loads(betrokken("eval", "profiles", *run, *mixes).splitlines()[-1])
        for m in result["methods"]:
            print(
                f"| {name} | {m['method']} | {m['mae']:.3f} | {m['mae_prior']:.3f} | {m['mae_ratio']:.2f} "
                f"| {m['coverage']:.3f} | {m['false_alarm']:.3f} | {m['false_reassurance']:.3f} "
                f"| {m['unknown']:.2f} |"
            )
        print(f"| {name} | per voice | top-1 {result['top1']:.3f}, log loss {result['log_loss']:.3f} |||||||")
    if args.refit:
        both = to_csv([args.shared / "writer_a.jsonl", args.shared / "writer_b.jsonl"], COPIES / "ab.csv")
        out = ROOT / "profiles" / "citisens.fit.npz"
        fit = ("--csv", str(both), "--text-col", "text", "--voice-col", "voice", "--out", str(out))
        print(betrokken("label", "fit", *fit, "--source", SHIPPED_SOURCE))
        both.unlink()


if __name__ == "__main__":
    main()
