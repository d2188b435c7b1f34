"""Bayesian classify-and-count: shares whose interval includes how unsure the evidence model is.

Each voice gets a category: its most likely profile, or "no evidence" when its posterior is the
prior itself. The model (Ziegler & Czyż, "Bayesian quantification with black-box estimators",
TMLR 2024; BayesianCC in QuaPy):

    shares ~ Dirichlet(1, ..., 1)
    confusion[:, j] ~ Dirichlet(1 + calibration counts of profile j)   (P(category | profile j))
    category counts of the voices ~ Multinomial(n, confusion @ shares)

sampled with a Gibbs sampler that also lets the voices being estimated inform the confusion matrix.
The calibration counts come from labelled voices, each cross-fitted so that the model never
predicts a voice it was fitted on. Tried across two independent writers (README): counting a
labelled voice as half a voice, or splitting categories by confidence, or a sparser prior on the
shares, each did worse; the interval in whole voices (see ``estimate._bayesian``) did better.

Without labels the model's own view of its errors stands in: for profile j, the categories of the
voices weighted by their posterior probability of j, worth ``SELF_VOICES`` voices in all. That view
is only as good as the hand-set ratios, so it is held loosely and the intervals stay wide.
"""

from __future__ import annotations

import numpy as np

SELF_VOICES = 10.0
BURN_IN = 100  # steps of each chain before its draws count
SAMPLES = 2000
CHAINS = 10


def categories(posteriors: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Per voice: the index of its most likely profile, or k when it carries no evidence (its
    posterior is ``empty``, that of a voice without evidence). Under a fit nearly every voice has
    some word evidence, so the last category is (nearly) empty there."""
    posteriors = np.asarray(posteriors, dtype=float)
    k = posteriors.shape[1]
    no_evidence = np.abs(posteriors - np.asarray(empty, dtype=float)).max(axis=1) < 1e-9
    return np.where(no_evidence, k, posteriors.argmax(axis=1))


def calibration_counts(
    posteriors: np.ndarray, empty: np.ndarray, calibration: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """(k+1, k) pseudo-counts of category given profile: from labelled voices, else the model's own."""
    k = posteriors.shape[1]
    if calibration is not None:
        cal_post, cal_labels = calibration
        counts = np.zeros((k + 1, k))
        np.add.at(counts, (categories(cal_post, empty), np.asarray(cal_labels, dtype=int)), 1.0)
        return counts
    onehot = np.eye(k + 1)[categories(posteriors, empty)]  # (n, k+1)
    implied = onehot.T @ posteriors  # (k+1, k): expected counts of category given profile
    totals = implied.sum(axis=0, keepdims=True)
    implied = np.where(totals > 0, implied / np.where(totals > 0, totals, 1.0), 1.0 / (k + 1))
    return SELF_VOICES * implied


def sample_shares(
    category_counts: np.ndarray,
    pseudo_counts: np.ndarray,
    seed: int,
    samples: int = SAMPLES,
    burn_in: int = BURN_IN,
    chains: int = CHAINS,
) -> np.ndarray:
    """(samples, k) draws of the shares from the posterior of the model above: ``chains``
    independent Gibbs chains run side by side as arrays (one chain of ``samples`` steps cost ten
    times as long, in Python's per-step overhead), each after ``burn_in`` steps."""
    rng = np.random.default_rng(seed)
    counts = np.broadcast_to(np.asarray(category_counts, dtype=np.int64), (chains, len(category_counts)))
    k = pseudo_counts.shape[1]
    per_chain = -(-samples // chains)
    shares = np.full((chains, k), 1.0 / k)
    confusion = np.broadcast_to(
        (pseudo_counts + 1.0) / (pseudo_counts + 1.0).sum(axis=0), (chains, *pseudo_counts.shape)
    )
    draws = np.empty((per_chain, chains, k))
    for it in range(burn_in + per_chain):
        joint = confusion * shares[:, None, :]  # (chains, categories, k)
        joint = joint / np.maximum(joint.sum(axis=2, keepdims=True), 1e-300)
        split = rng.multinomial(counts, joint)  # voices of each category allotted to profiles
        gamma = rng.gamma(1.0 + split.sum(axis=1))
        shares = gamma / gamma.sum(axis=1, keepdims=True)
        gamma = rng.gamma(1.0 + pseudo_counts + split)
        confusion = gamma / gamma.sum(axis=1, keepdims=True)
        if it >= burn_in:
            draws[it - burn_in] = shares
    return draws.reshape(-1, k)[:samples]
