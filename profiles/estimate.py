"""Online profile shares from per-voice posteriors, with bootstrap intervals.

Averaging posteriors (PCC) is pulled toward the prior the posteriors were computed under; EMQ
re-estimates the class prior so that it is consistent with the posteriors. Both assume the
posteriors are calibrated, which hand-set likelihood ratios are not: the report shows both methods
and how many voices carried any evidence.

The bootstrap draws voice weights (multinomial counts) and runs every replicate at once as array
operations, so a thousand replicates cost about as much as a few dozen single fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_ITER = 1000
TOL = 1e-7


@dataclass(frozen=True)
class ShareEstimate:
    """Shares per profile (aligned with the model's profiles) with a percentile bootstrap interval."""

    method: str
    share: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_voices: int
    level: float


def pcc(posteriors: np.ndarray, prior: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probabilistic classify and count: the (weighted) mean posterior (Bella et al. 2010, ICDM).

    Biased toward ``prior`` when the online shares differ from it.

    Args:
        posteriors: (n, k) per-voice posteriors.
        prior: (k,) prior the posteriors were computed under (unused; kept for one signature).
        weights: (b, n) voice weights, one row per replicate; each row sums to n.
    Returns:
        (b, k) shares.
    """
    return weights @ posteriors / weights.sum(axis=1, keepdims=True)


def emq(posteriors: np.ndarray, prior: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """EM prior adjustment (Saerens, Latinne & Decaestecker 2002, Neural Computation 14(1)).

    The EM step re-weights each posterior by (current prior / training prior), renormalises per
    voice, and takes the weighted mean as the new prior. Plain EM crawls when a share tends to 0,
    so steps are accelerated with SQUAREM (Varadhan & Roland 2008, Scand. J. Statistics 35(2)),
    which converges to the same fixed point. Same arguments and result shape as ``pcc``.
    """
    likelihood = posteriors / np.asarray(prior, dtype=float)  # proportional to p(x | profile)
    total = weights.sum(axis=1, keepdims=True)

    def step(current: np.ndarray) -> np.ndarray:
        adjusted = likelihood[None, :, :] * current[:, None, :]
        adjusted /= adjusted.sum(axis=2, keepdims=True)
        return np.einsum("bn,bnk->bk", weights, adjusted) / total

    current = weights @ posteriors / total
    for _ in range(MAX_ITER):
        first = step(current)
        second = step(first)
        r = first - current
        v = second - first - r
        r_norm = np.sqrt((r * r).sum(axis=1, keepdims=True))
        v_norm = np.sqrt((v * v).sum(axis=1, keepdims=True))
        alpha = np.where(v_norm > 0, -r_norm / np.maximum(v_norm, 1e-300), -1.0)
        alpha = np.minimum(alpha, -1.0)
        extrapolated = current - 2 * alpha * r + alpha * alpha * v
        extrapolated = np.clip(extrapolated, 0.0, None)
        extrapolated /= extrapolated.sum(axis=1, keepdims=True)
        updated = step(extrapolated)
        if np.abs(updated - current).max() < TOL:
            current = updated
            break
        current = updated
    return current / current.sum(axis=1, keepdims=True)


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {"pcc": pcc, "emq": emq}


def estimate_shares(
    posteriors: np.ndarray,
    prior: np.ndarray,
    *,
    method: str = "emq",
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> ShareEstimate:
    """Shares of the k profiles among n voices, and a bootstrap interval that resamples voices.

    Args:
        posteriors: (n_voices, k) per-voice posteriors computed under ``prior``.
        prior: length-k prior the posteriors were computed under (population shares).
        method: "pcc" or "emq".
        n_boot: bootstrap replicates; the interval is the percentile interval at ``level``.
        level: coverage of the interval, e.g. 0.9.
        seed: seed of the resampling, so a rerun gives the same figures.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    posteriors = np.asarray(posteriors, dtype=float)
    prior = np.asarray(prior, dtype=float)
    if posteriors.ndim != 2 or posteriors.shape[0] == 0:
        raise ValueError("posteriors must be a non-empty (n_voices, k) array")
    n, k = posteriors.shape
    if prior.shape != (k,):
        raise ValueError(f"prior has {prior.shape[0]} entries, posteriors have {k} columns")
    fn = METHODS[method]
    share = fn(posteriors, prior, np.ones((1, n)))[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    boots = np.concatenate(
        [fn(posteriors, prior, chunk) for chunk in np.array_split(weights, max(1, n_boot // 250))]
    )
    alpha = (1.0 - level) / 2.0
    lower = np.minimum(np.quantile(boots, alpha, axis=0), share)
    upper = np.maximum(np.quantile(boots, 1.0 - alpha, axis=0), share)
    return ShareEstimate(method, share, lower, upper, n, level)
