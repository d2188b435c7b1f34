"""Simulation with known truth, to check the share estimators (used by tests and bench/profiles_sim.py).

Voices are drawn from known online shares that differ from the population prior. Each voice shows
each of S binary signals with a probability that depends on its true profile; its posterior is
computed under the prior with the true signal model (calibrated), or with the log likelihood ratios
multiplied by ``overconfidence`` (miscalibrated, as hand-set ratios tend to be).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profiles.estimate import estimate_shares


@dataclass(frozen=True)
class Scenario:
    prior: np.ndarray  # population shares (k,)
    truth: np.ndarray  # online shares (k,)
    fire: np.ndarray  # (S, k): probability that a voice of profile j shows signal s


def make_scenario(prior: np.ndarray, truth: np.ndarray, n_signals: int = 12, seed: int = 0) -> Scenario:
    """Signals that each point weakly to one or two profiles, like the shipped evidence model."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    fire = rng.uniform(0.03, 0.15, size=(n_signals, k))
    for s in range(n_signals):
        fire[s, s % k] = rng.uniform(0.45, 0.75)
        fire[s, rng.integers(k)] += rng.uniform(0.0, 0.2)
    return Scenario(np.asarray(prior, float), np.asarray(truth, float), np.clip(fire, 0.01, 0.95))


def draw(
    scenario: Scenario,
    n: int,
    rng: np.random.Generator,
    shares: np.ndarray | None = None,
    overconfidence: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(posteriors (n, k), true labels (n,)) for n voices drawn from ``shares`` (default: the truth)."""
    k = len(scenario.prior)
    labels = rng.choice(k, size=n, p=scenario.truth if shares is None else shares)
    shows = rng.random((n, scenario.fire.shape[0])) < scenario.fire[:, labels].T
    log_fire, log_miss = np.log(scenario.fire), np.log1p(-scenario.fire)
    loglik = shows @ log_fire + (~shows) @ log_miss  # (n, k)
    loglik = overconfidence * (loglik - loglik.mean(axis=1, keepdims=True))
    logpost = loglik + np.log(scenario.prior)
    logpost -= logpost.max(axis=1, keepdims=True)
    posteriors = np.exp(logpost)
    return posteriors / posteriors.sum(axis=1, keepdims=True), labels


@dataclass(frozen=True)
class MethodResult:
    method: str
    mean_abs_error: float
    coverage: float  # share of (repetition, profile) intervals that contain the true share


def run(
    scenario: Scenario,
    methods: tuple[str, ...] = ("cc", "pcc", "acc", "pacc", "emq", "bayes"),
    n: int = 300,
    n_labelled: int = 200,
    repetitions: int = 100,
    n_boot: int = 200,
    level: float = 0.9,
    overconfidence: float = 1.0,
    seed: int = 0,
) -> list[MethodResult]:
    """Repeat: draw voices (and labelled voices, drawn from the population), estimate, score."""
    rng = np.random.default_rng(seed)
    errors: dict[str, list[float]] = {m: [] for m in methods}
    covered: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(repetitions):
        posteriors, _ = draw(scenario, n, rng, overconfidence=overconfidence)
        calibration = draw(scenario, n_labelled, rng, shares=scenario.prior, overconfidence=overconfidence)
        for method in methods:
            est = estimate_shares(
                posteriors,
                scenario.prior,
                method=method,
                calibration=calibration,
                n_boot=n_boot,
                level=level,
                seed=r,
            )
            errors[method].append(float(np.abs(est.share - scenario.truth).mean()))
            inside = (est.lower <= scenario.truth + 1e-12) & (scenario.truth - 1e-12 <= est.upper)
            covered[method].append(float(inside.mean()))
    return [MethodResult(m, float(np.mean(errors[m])), float(np.mean(covered[m]))) for m in methods]
