"""Online profile shares from per-voice posteriors, with bootstrap intervals.

Averaging posteriors (PCC) is pulled toward the prior the posteriors were computed under; EMQ
re-estimates the class prior so that it is consistent with the posteriors. Both assume the
posteriors are calibrated, which hand-set likelihood ratios are not: the report shows both methods
and how many voices carried any evidence.

The bootstrap draws voice weights (multinomial counts) and runs every replicate at once as array
operations, so a thousand replicates cost about as much as a few dozen single fits. Voices with the
same evidence are pooled first, so the cost grows with the number of distinct evidence patterns
(hundreds), not with the number of voices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from statistics import NormalDist

import numpy as np
from threadpoolctl import ThreadpoolController

from profiles import bayes

MAX_ITER = 1000
TOL = 1e-6  # shares are shown to 0.1 percentage point; 1e-7 cost a third more iterations
# A bootstrap replicate only feeds a percentile of a thousand replicates, whose spread is orders of
# magnitude wider than this; at 100k posts the replicates took 80% of the estimate stage.
BOOT_TOL = 1e-5
DEFAULT_METHOD = "bayes"  # see README, "How good are the profile estimates"


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


def emq(
    posteriors: np.ndarray,
    prior: np.ndarray,
    weights: np.ndarray,
    start: np.ndarray | None = None,
    tol: float = TOL,
    pseudo: np.ndarray | None = None,
) -> np.ndarray:
    """EM prior adjustment (Saerens, Latinne & Decaestecker 2002, Neural Computation 14(1)).

    The EM step re-weights each posterior by (current prior / training prior), renormalises per
    voice, and takes the weighted mean as the new prior. Plain EM crawls when a share tends to 0,
    so steps are accelerated with SQUAREM (Varadhan & Roland 2008, Scand. J. Statistics 35(2)),
    which converges to the same fixed point. Same arguments and result shape as ``pcc``.

    The log likelihood is concave in the shares, so every start inside the simplex leads to the same
    maximum; ``start`` (the full sample's shares, for bootstrap replicates) only makes it quicker.
    It is mixed with 1% of the uniform shares, because EM cannot move a share away from exactly 0.

    ``pseudo`` (k,) adds a Dirichlet prior (alpha - 1 = pseudo) on the shares: EM then finds the
    posterior mode instead of the maximum likelihood (MAP-EM, as in ``map_em``).
    """
    likelihood = posteriors / np.asarray(prior, dtype=float)  # proportional to p(x | profile)
    extra = np.zeros(posteriors.shape[1]) if pseudo is None else np.asarray(pseudo, dtype=float)
    total = weights.sum(axis=1, keepdims=True) + extra.sum()

    def step(current: np.ndarray, w: np.ndarray, t: np.ndarray) -> np.ndarray:
        # sum_n w[b,n] L[n,k] c[b,k] / sum_j L[n,j] c[b,j], as two matrix products (no b*n*k array)
        denominator = current @ likelihood.T
        return (current * ((w / np.maximum(denominator, 1e-300)) @ likelihood) + extra) / t

    if start is None:
        result = weights @ posteriors / total
    else:
        k = posteriors.shape[1]
        inside = 0.99 * np.asarray(start, dtype=float) / np.sum(start) + 0.01 / k
        result = np.tile(inside, (len(weights), 1))
    # Replicates converge at different speeds: each leaves the iteration when it has converged, so
    # the slowest one does not keep the others iterating.
    active = np.arange(len(result))
    for _ in range(MAX_ITER):
        w, t, current = weights[active], total[active], result[active]
        first = step(current, w, t)
        second = step(first, w, t)
        r = first - current
        v = second - first - r
        r_norm = np.sqrt((r * r).sum(axis=1, keepdims=True))
        v_norm = np.sqrt((v * v).sum(axis=1, keepdims=True))
        alpha = np.where(v_norm > 0, -r_norm / np.maximum(v_norm, 1e-300), -1.0)
        alpha = np.minimum(alpha, -1.0)
        extrapolated = current - 2 * alpha * r + alpha * alpha * v
        extrapolated = np.clip(extrapolated, 0.0, None)
        extrapolated /= extrapolated.sum(axis=1, keepdims=True)
        updated = step(extrapolated, w, t)
        result[active] = updated
        active = active[np.abs(updated - current).max(axis=1) >= tol]
        if len(active) == 0:
            break
    return result / result.sum(axis=1, keepdims=True)


def map_em(
    posteriors: np.ndarray,
    prior: np.ndarray,
    weights: np.ndarray,
    centre: np.ndarray | None = None,
    **kwargs: object,
) -> np.ndarray:
    """Regularised EM: the posterior mode of the shares under a Dirichlet prior centred on the
    population shares (``centre``, default ``prior``) and worth as many voices as there are
    profiles, so a share the voices do not support shrinks toward the population, not to 0."""
    k = posteriors.shape[1]
    centre = np.asarray(prior if centre is None else centre, dtype=float)
    return emq(posteriors, prior, weights, pseudo=k * centre, **kwargs)  # type: ignore[arg-type]


def cc(posteriors: np.ndarray, prior: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Classify and count: the (weighted) share of voices whose most likely profile is each one.

    The naive baseline (Forman 2008, Data Mining and Knowledge Discovery 17(2)); biased whenever
    the classifier makes errors.
    """
    k = posteriors.shape[1]
    hard = np.eye(k)[posteriors.argmax(axis=1)]
    return weights @ hard / weights.sum(axis=1, keepdims=True)


def _adjust(observed: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Solve ``confusion @ p = observed`` per row, clipped to the simplex (Forman 2008)."""
    solved = observed @ np.linalg.pinv(confusion).T
    solved = np.clip(solved, 0.0, None)
    totals = solved.sum(axis=1, keepdims=True)
    k = solved.shape[1]
    return np.where(totals > 0, solved / np.where(totals > 0, totals, 1.0), 1.0 / k)


def _confusion(cal_posteriors: np.ndarray, cal_labels: np.ndarray, k: int, probabilistic: bool) -> np.ndarray:
    """Column j: the mean (hard or soft) prediction among labelled voices whose true profile is j."""
    predictions = cal_posteriors if probabilistic else np.eye(k)[cal_posteriors.argmax(axis=1)]
    confusion = np.zeros((k, k))
    for j in range(k):
        members = cal_labels == j
        # a profile with no labelled voice: assume it is recognised perfectly rather than dividing by 0
        confusion[:, j] = predictions[members].mean(axis=0) if members.any() else np.eye(k)[j]
    return confusion


def acc(posteriors: np.ndarray, prior: np.ndarray, weights: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Adjusted classify and count: CC corrected by the hard confusion matrix of labelled voices
    (Forman 2008, Data Mining and Knowledge Discovery 17(2))."""
    return _adjust(cc(posteriors, prior, weights), confusion)


def pacc(posteriors: np.ndarray, prior: np.ndarray, weights: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Probabilistic adjusted classify and count: PCC corrected by the mean posteriors of labelled
    voices per true profile (Bella, Ferri, Hernandez-Orallo & Ramirez-Quintana 2010, ICDM)."""
    return _adjust(pcc(posteriors, prior, weights), confusion)


KDE_BANDWIDTH = 0.1  # on the simplex of posteriors, as in Moreo et al. and QuaPy's default


def kdey(
    posteriors: np.ndarray,
    prior: np.ndarray,
    weights: np.ndarray,
    calibration: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """KDEy-ML (Moreo, González & del Coz 2024, Machine Learning 113): each profile's posteriors
    among labelled voices as a Gaussian kernel density; the shares are the maximum-likelihood
    mixture of those densities for the voices (found by the same EM as ``emq``)."""
    cal_post, cal_labels = calibration
    k = posteriors.shape[1]
    distance = ((posteriors[:, None, :] - cal_post[None, :, :]) ** 2).sum(axis=2)  # (n, m)
    kernel = np.exp(-distance / (2 * KDE_BANDWIDTH**2))
    density = np.column_stack(
        [
            kernel[:, cal_labels == j].mean(axis=1) if (cal_labels == j).any() else np.zeros(len(kernel))
            for j in range(k)
        ]
    )
    density = np.maximum(density, 1e-300)
    return emq(density / density.sum(axis=1, keepdims=True), np.full(k, 1.0 / k), weights)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "cc": cc,
    "pcc": pcc,
    "acc": acc,
    "pacc": pacc,
    "emq": emq,
    "map": map_em,
    "kdey": kdey,
}
NEEDS_CALIBRATION = frozenset({"acc", "pacc", "kdey"})
# What each calibrated method makes of (a resample of) the labelled voices.
_CALIBRATE: dict[str, Callable[[np.ndarray, np.ndarray, int], object]] = {
    "acc": lambda post, labels, k: _confusion(post, labels, k, False),
    "pacc": lambda post, labels, k: _confusion(post, labels, k, True),
    "kdey": lambda post, labels, k: (post, labels),
}
ALL_METHODS = (*METHODS, "bayes")


def estimate_shares(
    posteriors: np.ndarray,
    prior: np.ndarray,
    *,
    method: str | None = None,
    calibration: tuple[np.ndarray, np.ndarray] | None = None,
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
    population: np.ndarray | None = None,
    no_evidence: np.ndarray | None = None,
) -> ShareEstimate:
    """Shares of the k profiles among n voices, with an interval.

    Args:
        posteriors: (n_voices, k) per-voice posteriors computed under ``prior``.
        prior: length-k prior the posteriors were computed under (``EvidenceModel.posterior_prior``:
            the population shares under the hand-set model, the label frequencies under a fit).
        method: "bayes" (default), "cc", "pcc", "emq", "map", or with ``calibration`` also
            "acc", "pacc" and "kdey".
        calibration: optional (posteriors_cal, labels_cal) of labelled voices: an (m, k) array and
            m profile indices; needed by "acc", "pacc" and "kdey" (resampled in every bootstrap
            replicate so that its uncertainty is in the interval too), used by "bayes".
        n_boot: bootstrap replicates (for "bayes": at least this many posterior draws); a bootstrap
            interval is the percentile interval at ``level``, widened where needed to the Wilson
            interval of n voices (see ``wilson_interval``).
        level: coverage of the interval, e.g. 0.9.
        seed: seed of the resampling, so a rerun gives the same figures.
        population: the population shares "map" shrinks toward (default: ``prior``).
        no_evidence: the posterior of a voice without evidence, which "bayes" counts apart
            (default: ``prior``, as under the hand-set model).
    """
    method = method or DEFAULT_METHOD
    if method not in ALL_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(ALL_METHODS)}")
    if method in NEEDS_CALIBRATION and calibration is None:
        raise ValueError(
            f"method {method!r} needs calibration=(posteriors_cal, labels_cal) from labelled voices"
        )
    posteriors = np.asarray(posteriors, dtype=float)
    prior = np.asarray(prior, dtype=float)
    if posteriors.ndim != 2 or posteriors.shape[0] == 0:
        raise ValueError("posteriors must be a non-empty (n_voices, k) array")
    k = posteriors.shape[1]
    if prior.shape != (k,):
        raise ValueError(f"prior has {prior.shape[0]} entries, posteriors have {k} columns")
    # The figures are of a set of voices: the same voices in another order (another author key,
    # another DuckDB plan) must give them to the last bit, as sums and resamples follow the order.
    posteriors = posteriors[_row_order(posteriors)]
    if method == "bayes":
        empty = prior if no_evidence is None else np.asarray(no_evidence, dtype=float)
        return _bayesian(posteriors, empty, calibration, n_boot, level, seed)
    fn = METHODS[method]
    if method == "map" and population is not None:
        fn = partial(map_em, centre=np.asarray(population, dtype=float))
    # Many small matrix products: OpenBLAS's threads only add overhead, and with the other core busy
    # they made the estimate stage three times slower. One thread, for this call only.
    with _blas().limit(limits=1, user_api="blas"):
        return _bootstrap(fn, method, posteriors, prior, calibration, n_boot, level, seed)


def _bayesian(
    posteriors: np.ndarray,
    no_evidence: np.ndarray,
    calibration: tuple[np.ndarray, np.ndarray] | None,
    n_samples: int,
    level: float,
    seed: int,
) -> ShareEstimate:
    """Bayesian classify-and-count (``profiles.bayes``): its equal-tailed interval, in whole voices,
    around the share of voices whose most likely profile it is (voices without evidence spread as
    the posterior mean has them), kept inside that interval and summing to 1.

    The point is classify-and-count rather than the posterior mean: across two independent
    writers the posterior mean, pulled toward equal shares, erred more (MAE 0.050 and 0.038 against
    0.038 and 0.032 for the count), while the interval covered the truth 96% of the time.
    """
    k = posteriors.shape[1]
    n = len(posteriors)
    if calibration is not None:
        calibration = (np.asarray(calibration[0], dtype=float), np.asarray(calibration[1], dtype=int))
        if calibration[0].ndim != 2 or calibration[0].shape[1] != k or len(calibration[0]) == 0:
            raise ValueError("calibration must be ((m, k) posteriors, m labels) with m > 0")
    pseudo = bayes.calibration_counts(posteriors, no_evidence, calibration)
    counts = np.bincount(bayes.categories(posteriors, no_evidence), minlength=k + 1)
    draws = bayes.sample_shares(counts, pseudo, seed, samples=max(n_samples, bayes.SAMPLES))
    alpha = (1.0 - level) / 2.0
    lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    # The shares are of n voices: the interval is given in whole voices, so a profile that may have
    # no voice at all gets a lower bound of 0 rather than a fraction of a voice.
    lower, upper = np.floor(lower * n) / n, np.minimum(np.ceil(upper * n) / n, 1.0)
    counted = (counts[:k] + counts[k] * draws.mean(axis=0)) / n
    return ShareEstimate("bayes", _inside(counted, lower, upper), lower, upper, n, level)


def _inside(point: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Shares that sum to 1 and lie within their intervals, as close to ``point`` as it takes: clip,
    then spread what is missing (or too much) over the profiles in proportion to their room."""
    shares = np.clip(point, lower, upper)
    missing = 1.0 - shares.sum()
    room = (upper - shares) if missing > 0 else (shares - lower)
    if room.sum() > 0:
        shares = shares + np.sign(missing) * room * min(1.0, abs(missing) / room.sum())
    return shares


def _row_order(rows: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Indices that sort the rows by their values (by ``labels`` first when given): one order for
    every arrangement of the same rows."""
    keys = [*rows.T[::-1], *([] if labels is None else [labels])]  # np.lexsort: the last key is primary
    return np.lexsort(keys)


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS libraries once, not per call


@lru_cache(maxsize=4)
def _resampled(n: int, counts: bytes, n_boot: int, seed: int) -> tuple[np.ndarray, dict]:
    """Bootstrap weights of the distinct posteriors (n voices drawn n_boot times, as int64 counts
    in ``counts``) and the generator's state after the draw. Every method of one estimate group
    draws the same weights from the same seed, and the draw was the costliest line of the stage."""
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.frombuffer(counts, dtype=np.int64) / n, size=n_boot).astype(float)
    weights.setflags(write=False)
    return weights, rng.bit_generator.state


def _bootstrap(
    fn: Callable[..., np.ndarray],
    method: str,
    posteriors: np.ndarray,
    prior: np.ndarray,
    calibration: tuple[np.ndarray, np.ndarray] | None,
    n_boot: int,
    level: float,
    seed: int,
) -> ShareEstimate:
    n, k = posteriors.shape
    # Every method is a function of weighted voices, and voices with the same evidence have the same
    # posterior: work on the distinct posteriors with their counts. Resampling n voices and then
    # pooling equal ones is the same as resampling the distinct ones in proportion to their counts.
    if method == "pcc":
        return _pcc_normal(posteriors, level)
    posteriors, counts = np.unique(posteriors, axis=0, return_counts=True)
    weights, state = _resampled(n, counts.astype(np.int64).tobytes(), n_boot, seed)
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = state  # as if the weights had been drawn here
    observed = counts[None, :].astype(float)
    if method in NEEDS_CALIBRATION:
        assert calibration is not None
        cal_post = np.asarray(calibration[0], dtype=float)
        cal_labels = np.asarray(calibration[1], dtype=int)
        if (
            cal_post.ndim != 2
            or cal_post.shape[1] != k
            or len(cal_labels) != len(cal_post)
            or len(cal_post) == 0
        ):
            raise ValueError("calibration must be ((m, k) posteriors, m labels) with m > 0")
        if cal_labels.min() < 0 or cal_labels.max() >= k:
            raise ValueError(f"calibration labels must be profile indices 0..{k - 1}")
        canonical = _row_order(cal_post, cal_labels)  # the resamples below pick labelled voices by index
        cal_post, cal_labels = cal_post[canonical], cal_labels[canonical]
        calibrate = _CALIBRATE[method]
        share = fn(posteriors, prior, observed, calibrate(cal_post, cal_labels, k))[0]
        m = len(cal_labels)
        boots = np.empty((n_boot, k))
        for b in range(n_boot):
            pick = rng.integers(0, m, size=m)
            boots[b] = fn(
                posteriors, prior, weights[b : b + 1], calibrate(cal_post[pick], cal_labels[pick], k)
            )[0]
    else:
        share = fn(posteriors, prior, observed)[0]
        chunks = np.array_split(weights, max(1, n_boot // 250))
        if method in ("emq", "map"):  # replicates start from the full sample's shares: fewer iterations
            boots = np.concatenate(
                [fn(posteriors, prior, chunk, start=share, tol=BOOT_TOL) for chunk in chunks]
            )
        else:
            boots = np.concatenate([fn(posteriors, prior, chunk) for chunk in chunks])
    alpha = (1.0 - level) / 2.0
    floor_lower, floor_upper = wilson_interval(share, n, level)
    lower = np.minimum(np.quantile(boots, alpha, axis=0), floor_lower)
    upper = np.maximum(np.quantile(boots, 1.0 - alpha, axis=0), floor_upper)
    return ShareEstimate(method, share, lower, upper, n, level)


def _pcc_normal(posteriors: np.ndarray, level: float) -> ShareEstimate:
    """PCC with the normal interval of a mean (the bootstrap of a mean converges to it): with word
    evidence nearly every voice has its own posterior, and drawing a thousand resamples of
    thousands of distinct voices cost more than all the rest of the estimate. Widened to Wilson."""
    n = len(posteriors)
    share = posteriors.mean(axis=0)
    half = (
        float(NormalDist().inv_cdf(0.5 + level / 2.0))
        * posteriors.std(axis=0, ddof=1 if n > 1 else 0)
        / np.sqrt(n)
    )
    floor_lower, floor_upper = wilson_interval(share, n, level)
    lower = np.minimum(np.clip(share - half, 0.0, 1.0), floor_lower)
    upper = np.maximum(np.clip(share + half, 0.0, 1.0), floor_upper)
    return ShareEstimate("pcc", share, lower, upper, n, level)


def wilson_interval(share: np.ndarray, n: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion observed in n voices (Wilson 1927, JASA 22(158)).

    Even a perfect classifier leaves this much sampling uncertainty. The bootstrap alone cannot
    show it at the boundary: when a method puts a profile at exactly 0, every replicate does too,
    and "0% (0%-0%)" would claim certainty that n voices cannot give. So the interval is never
    narrower than this one.
    """
    z = float(NormalDist().inv_cdf(0.5 + level / 2.0))
    share = np.asarray(share, dtype=float)
    denominator = 1.0 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * np.sqrt(share * (1.0 - share) / n + z * z / (4 * n * n)) / denominator
    return np.clip(centre - half, 0.0, share), np.clip(centre + half, share, 1.0)
