"""Share estimators against known truth: mean absolute error and interval coverage per method.

Voices come from online shares that differ from the population prior (the prior the posteriors are
computed under). Prints one table for calibrated posteriors and one for overconfident ones.

Usage: python bench/profiles_sim.py [--repetitions 200] [--voices 300] [--labelled 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profiles.model import load_model
from profiles.simulate import make_scenario, run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--voices", type=int, default=300)
    parser.add_argument("--labelled", type=int, default=200)
    parser.add_argument("--n-boot", type=int, default=300)
    args = parser.parse_args()
    model = load_model("citisens")
    prior = model.prior()
    # online shares like the ones the sample corpus was written with: far from the population
    truth = np.array([0.19, 0.23, 0.11, 0.13, 0.06, 0.03, 0.08, 0.17])
    scenario = make_scenario(prior, truth, seed=1)
    print(
        f"k={len(prior)} profiles, {args.voices} voices, {args.labelled} labelled voices for acc/pacc, "
        f"{args.repetitions} repetitions, {args.n_boot} bootstrap replicates, nominal coverage 0.90"
    )
    for title, overconfidence in (
        ("calibrated posteriors", 1.0),
        ("overconfident posteriors (log LR x 2)", 2.0),
    ):
        started = time.perf_counter()
        results = run(
            scenario,
            n=args.voices,
            n_labelled=args.labelled,
            repetitions=args.repetitions,
            n_boot=args.n_boot,
            overconfidence=overconfidence,
        )
        print(f"\n{title} ({time.perf_counter() - started:.0f} s)")
        print(f"{'method':<8} {'mean abs error':>15} {'coverage':>9}")
        for r in results:
            print(f"{r.method:<8} {r.mean_abs_error:>15.4f} {r.coverage:>9.2f}")


if __name__ == "__main__":
    main()
