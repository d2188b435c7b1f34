"""The MAP fit of a multinomial logistic model with a Gaussian prior on every coefficient.

One definition for every model the project fits on labelled text: the profile evidence
(``profiles.fit``) and the learnt sentiment (``nlp.fit_sentiment``). The model is

    P(class j | x) = softmax_j(x @ coef[:, j])

with ``coef[i, j] ~ Normal(prior_mean[i, j], prior_sd[i])`` (a column of ones in ``x`` gives a bias).
A row may be restricted to some classes (``allowed``): a text labelled only negative or positive
still teaches a three-class model, the softmax then running over the two classes it could have.

``fit_map_binary`` fits many yes/no models of this kind at once (the topic head: one per topic).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import spmatrix


def fit_map_multinomial(
    design: np.ndarray | spmatrix,
    labels: np.ndarray,
    prior_sd: np.ndarray,
    prior_mean: np.ndarray,
    allowed: np.ndarray | None = None,
    maxiter: int = 500,
) -> np.ndarray:
    """The coefficients (p, k) that maximise the posterior, by L-BFGS from the prior mean.

    Args:
        design: (n, p) feature matrix, dense or sparse.
        labels: (n,) class index of each row.
        prior_sd: (p,) prior standard deviation of each feature's coefficients.
        prior_mean: (p, k) prior mean of the coefficients; its shape gives the number of classes.
        allowed: (n, k) booleans, the classes each row's softmax runs over (None: all of them);
            each row's own label must be allowed.
    """
    from scipy.optimize import minimize  # only where a fit runs: scoring only loads the coefficients

    k = prior_mean.shape[1]
    onehot = np.eye(k)[labels]
    precision = 1.0 / np.asarray(prior_sd, dtype=float)[:, None] ** 2
    # A class that a row cannot have gets a logit of -inf: probability 0, no gradient.
    offset = None if allowed is None else np.where(allowed, 0.0, -np.inf)
    rows = np.arange(len(labels))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta.reshape(-1, k)
        logits = np.asarray(design @ coef)
        if offset is not None:
            logits = logits + offset
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1))
        loss = float((log_norm - logits[rows, labels]).sum())
        residual = np.exp(logits - log_norm[:, None]) - onehot
        deviation = coef - prior_mean
        loss += 0.5 * float((deviation**2 * precision).sum())
        grad = design.T @ residual + deviation * precision
        return loss, np.asarray(grad).ravel()

    result = minimize(
        objective, prior_mean.ravel().astype(float), jac=True, method="L-BFGS-B", options={"maxiter": maxiter}
    )
    return result.x.reshape(-1, k)


def fit_map_binary(
    design: np.ndarray, labels: np.ndarray, prior_sd: np.ndarray, maxiter: int = 1000
) -> np.ndarray:
    """The log-odds coefficients (p, k) of one MAP logistic model per column of ``labels`` (n, k
    booleans), all in one L-BFGS run, with ``coef[i, j] ~ Normal(0, prior_sd[i])``.

    Each column's model is ``fit_map_multinomial``'s with two classes and ``prior_sd / sqrt(2)``, whose
    log-odds are the difference of two such coefficients; one run over all columns costs a fraction
    of the CPU of a run per column.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    y = np.asarray(labels, dtype=float)
    k = y.shape[1]
    precision = 1.0 / np.asarray(prior_sd, dtype=float)[:, None] ** 2

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta.reshape(-1, k)
        logits = design @ coef
        loss = float((np.logaddexp(0.0, logits) - y * logits).sum()) + 0.5 * float(
            (coef**2 * precision).sum()
        )
        grad = design.T @ (expit(logits) - y) + coef * precision
        return loss, grad.ravel()

    start = np.zeros(design.shape[1] * k)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    return result.x.reshape(-1, k)
