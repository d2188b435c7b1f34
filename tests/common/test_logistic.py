"""The shared MAP fit of a multinomial logistic model (profile evidence and learnt sentiment use it)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from common.logistic import fit_map_multinomial


def _simulated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of (1, x1, x2) and labels drawn from a known three-class model."""
    rng = np.random.default_rng(seed)
    truth = np.array([[0.0, 0.5, 0.0], [-2.0, 0.0, 2.0], [1.0, -1.0, 0.0]])
    design = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    logits = design @ truth
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in p])
    return design, labels, truth


def test_logistic_recovers_the_model_the_labels_came_from() -> None:
    design, labels, truth = _simulated(4000)
    coef = fit_map_multinomial(design, labels, np.full(3, 10.0), np.zeros((3, 3)))
    # softmax coefficients are known up to a constant per row: compare differences between classes
    assert np.allclose(coef - coef[:, [0]], truth - truth[:, [0]], atol=0.25)


def test_logistic_sparse_and_dense_designs_give_the_same_fit() -> None:
    design, labels, _ = _simulated(300)
    dense = fit_map_multinomial(design, labels, np.ones(3), np.zeros((3, 3)))
    sparse = fit_map_multinomial(csr_matrix(design), labels, np.ones(3), np.zeros((3, 3)))
    assert np.allclose(dense, sparse, atol=1e-5)


def test_logistic_a_tight_prior_keeps_the_coefficients_at_its_mean() -> None:
    design, labels, _ = _simulated(300)
    mean = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    sd = np.array([10.0, 1e-4, 10.0])
    coef = fit_map_multinomial(design, labels, sd, mean)
    assert np.allclose(coef[1], mean[1], atol=1e-3)
    loose = fit_map_multinomial(design, labels, np.full(3, 10.0), mean)
    assert not np.allclose(loose[1], mean[1], atol=0.1)


def test_logistic_rows_restricted_to_two_classes_teach_nothing_about_the_third() -> None:
    """Binary labels (negative/positive) in a three-class model: the softmax of those rows runs over
    the two classes they could have, so the third class's coefficients stay at the prior mean."""
    design, labels, _ = _simulated(1000)
    binary = labels != 1
    allowed = np.ones((binary.sum(), 3), dtype=bool)
    allowed[:, 1] = False
    coef = fit_map_multinomial(design[binary], labels[binary], np.full(3, 3.0), np.zeros((3, 3)), allowed)
    assert np.allclose(coef[:, 1], 0.0, atol=1e-6)
    assert coef[1, 2] - coef[1, 0] > 2.0  # the positive/negative contrast is still learnt
    unrestricted = fit_map_multinomial(design[binary], labels[binary], np.full(3, 3.0), np.zeros((3, 3)))
    assert coef[0, 1] > unrestricted[0, 1]  # without the restriction, class 1's bias is pushed down
