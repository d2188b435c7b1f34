"""Measure profile share estimators on labelled voices with known mixes (``betrokken eval profiles``).

The artificial-prevalence protocol (Forman 2008; Moreo, Esuli & Sebastiani, QuaPy): draw many
profile mixes, for each draw voices from the labelled pool in that mix, estimate the shares, and
compare with the true shares of the drawn voices. Half the mixes come from a Dirichlet around the
population shares, half are strongly shifted (one to three profiles absent, one two to three times
its population share): the cases a reach-gap report exists for.

The evidence model must not have been fitted on the voices measured: fit on one set (``--fit-csv``)
and measure on another, or measure the hand-set model, which saw no labels at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from profiles.estimate import ALL_METHODS, DEFAULT_METHOD, NEEDS_CALIBRATION, estimate_shares
from profiles.evidence import EvidenceModel
from profiles.fit import LabelledVoice
from profiles.gap import Thresholds, classify

PROTOCOL_BOOT = 200  # bootstrap replicates per estimate: 200 mixes x 6 methods must stay minutes


@dataclass(frozen=True)
class MethodScore:
    method: str
    mae: float
    mae_prior: float
    mae_ratio: float
    coverage: float
    false_alarm: float
    false_reassurance: float
    unknown: float  # share of (mix, profile) pairs whose status is unknown
    top1: float
    log_loss: float
    n_mixes: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def draw_mixes(prior: np.ndarray, n_mixes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Half around the population (Dirichlet, concentration k), half strongly shifted."""
    k = len(prior)
    mixes = []
    for m in range(n_mixes):
        if m % 2 == 0:
            mixes.append(rng.dirichlet(k * prior))
            continue
        shares = prior.copy()
        absent = rng.choice(k, size=int(rng.integers(1, 4)), replace=False)
        shares[absent] = 0.0
        boosted = rng.choice(np.setdiff1d(np.arange(k), absent))
        shares[boosted] *= rng.uniform(2.0, 3.0)
        mixes.append(shares / shares.sum())
    return mixes


def evaluate(
    evidence: EvidenceModel,
    voices: Sequence[LabelledVoice],
    methods: Sequence[str] = ALL_METHODS,
    n_mixes: int = 200,
    n_voices: int = 150,
    seed: int = 0,
    thresholds: Thresholds | None = None,
    level: float = 0.9,
) -> list[MethodScore]:
    """Score each method on ``n_mixes`` samples of ``n_voices`` voices drawn from ``voices``.

    Calibrated methods (PACC, KDEy) use the fit's cross-fitted calibration and are skipped without
    one; Bayesian CC then uses the model's own view of its errors.
    """
    thresholds = thresholds or Thresholds()
    model = evidence.model
    prior = model.prior()
    k = len(prior)
    labels = np.array([v.label for v in voices], dtype=int)
    posteriors = np.array([evidence.posterior(v.signals, *evidence.text_of(v.posts)) for v in voices])
    top1 = float((posteriors.argmax(axis=1) == labels).mean())
    log_loss = float(-np.log(np.clip(posteriors[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())
    calibration = evidence.calibration
    usable = [m for m in methods if m not in NEEDS_CALIBRATION or calibration is not None]
    pools = [np.flatnonzero(labels == j) for j in range(k)]
    present = np.array([len(p) > 0 for p in pools])
    rng = np.random.default_rng(seed)
    posterior_prior, no_evidence = evidence.posterior_prior, evidence.no_evidence
    errors: dict[str, list[np.ndarray]] = {m: [] for m in usable}
    inside: dict[str, list[np.ndarray]] = {m: [] for m in usable}
    statuses: dict[str, list[list[str]]] = {m: [] for m in usable}
    truths, prior_errors = [], []
    for mix in draw_mixes(prior, n_mixes, rng):
        mix = np.where(present, mix, 0.0)
        mix /= mix.sum()
        drawn = rng.choice(k, size=n_voices, p=mix)
        picks = np.array([rng.choice(pools[j]) for j in drawn])
        truth = np.bincount(drawn, minlength=k) / n_voices
        truths.append(truth)
        prior_errors.append(np.abs(prior - truth))
        for method in usable:
            est = estimate_shares(
                posteriors[picks],
                posterior_prior,
                method=method,
                calibration=calibration if method in NEEDS_CALIBRATION or method == "bayes" else None,
                n_boot=PROTOCOL_BOOT,
                level=level,
                seed=int(rng.integers(2**31)),
                population=prior,
                no_evidence=no_evidence,
            )
            errors[method].append(np.abs(est.share - truth))
            inside[method].append((est.lower <= truth + 1e-9) & (truth <= est.upper + 1e-9))
            statuses[method].append(
                [
                    classify(lo / p, hi / p, thresholds)
                    for lo, hi, p in zip(est.lower, est.upper, prior, strict=True)
                ]
            )
    true_index = np.array(truths) / prior
    mae_prior = float(np.mean(prior_errors))
    scores = []
    for method in usable:
        status = np.array(statuses[method])
        alarm = np.isin(status, ["absent", "under"]) & (true_index >= 1.0)
        reassured = (status == "proportional") & ((true_index < 0.5) | (true_index > 2.0))
        mae = float(np.mean(errors[method]))
        scores.append(
            MethodScore(
                method,
                round(mae, 4),
                round(mae_prior, 4),
                round(mae / mae_prior, 3),
                round(float(np.mean(inside[method])), 3),
                round(float(alarm.mean()), 4),
                round(float(reassured.mean()), 4),
                round(float((status == "unknown").mean()), 3),
                round(top1, 3),
                round(log_loss, 3),
                n_mixes,
            )
        )
    return scores


def default_first(scores: list[MethodScore]) -> list[MethodScore]:
    """The shipped default method first, the others in their order."""
    return sorted(scores, key=lambda s: s.method != DEFAULT_METHOD)
