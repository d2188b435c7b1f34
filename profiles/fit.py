"""Evidence fitted on labelled voices, with the profile file's hand-set ratios as its prior.

The fitted evidence is a multinomial logistic model of a voice's profile:

    logit_j = bias_j + sum over the voice's distinct signals s of coef[s, j] + text score_j

where the text score comes from the character n-grams of its words (``profiles.lexical``). Its
prior: the word weights are normal around 0 (sd ``sqrt(text_c)``), the bias around the log
population shares, and, with ``use_signals``, each signal's coefficients normal around the log
likelihood ratios of the profile file (sd ``signal_sd``), so that with few labels the fit stays
near the hand-set model. Measured across two writers the signals lowered accuracy, so by default
(``USE_SIGNALS``) a fit leaves them out (their coefficients are 0) and the profile file's ratios
are the evidence only where no fit is used. Fitting is a MAP estimate (L-BFGS).

Besides the parameters, the file keeps cross-fitted posteriors of the labelled voices (each from
a model fitted without it): the calibration the share estimators use to correct for the model's
errors. Nothing in it identifies a person: labelled voices are kept as posteriors and labels only.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from common.logistic import fit_map_multinomial
from profiles.lexical import TextEvidence, design_row, feature_counts
from profiles.model import ProfileModel

FORMAT = 1
TEXT_C = 10.0  # prior variance of a word-feature weight (the inverse of an L2 penalty)
SIGNAL_SD = 0.5  # prior sd of a signal coefficient around its hand-set log likelihood ratio
# Measured across two independent writers (README), refitting the hand-set signals beside the word
# evidence lowered top-1 accuracy (0.75/0.71 -> 0.65/0.68): by default a fit uses words only.
USE_SIGNALS = False
BIAS_SD = 3.0
MIN_DOC_FREQ = 2  # a word feature must occur in at least this many labelled voices
FOLDS = 5


class FitError(Exception):
    """Labelled voices cannot be fitted, or a fitted file cannot be read; the message says why."""


@dataclass(frozen=True)
class LabelledVoice:
    """What the fit sees of one labelled voice: the distinct words of each post, the signals
    that fired on any of its posts, and its profile index. No author, no text."""

    posts: tuple[frozenset[str], ...]
    signals: frozenset[str]
    label: int


@dataclass(frozen=True)
class FittedEvidence:
    profile_model: str
    base_version: str  # ``ProfileModel.version_tag()`` of the hand-set model it refines
    profile_ids: list[str]
    bias: np.ndarray  # (k,)
    signal_ids: list[str]
    signal_coef: np.ndarray  # (S, k)
    text: TextEvidence | None
    train_prior: np.ndarray  # (k,) label frequencies: the prior the posteriors are computed under
    calibration_posteriors: np.ndarray  # (m, k) cross-fitted posteriors of the labelled voices
    calibration_labels: np.ndarray  # (m,)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Changes with any fitted number, so stored per-post evidence is recomputed for a new fit."""
        h = hashlib.sha256()
        for array in (
            self.bias,
            self.signal_coef,
            *((self.text.idf, self.text.weights) if self.text else ()),
        ):
            h.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        h.update(json.dumps([self.signal_ids, self.text.vocabulary if self.text else []]).encode())
        return h.hexdigest()[:8]

    def save(self, path: Path) -> None:
        meta = {
            "format": FORMAT,
            "profile_model": self.profile_model,
            "base_version": self.base_version,
            "profile_ids": self.profile_ids,
            "signal_ids": self.signal_ids,
            "vocabulary": self.text.vocabulary if self.text else [],
            "provenance": self.provenance,
        }
        arrays = {
            "bias": self.bias,
            "signal_coef": self.signal_coef,
            "train_prior": self.train_prior,
            "calibration_posteriors": self.calibration_posteriors.astype(np.float32),
            "calibration_labels": self.calibration_labels.astype(np.int16),
            "idf": (self.text.idf if self.text else np.empty(0)).astype(np.float32),
            "weights": (self.text.weights if self.text else np.empty((0, len(self.profile_ids)))).astype(
                np.float32
            ),
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())


def load_fitted(path: Path, model: ProfileModel) -> FittedEvidence:
    """A fitted evidence file, checked against the profile model it must refine."""
    if not path.exists():
        raise FitError(f"{path}: fitted evidence file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            arrays = {name: data[name] for name in data.files if name != "meta"}
        if meta.get("format") != FORMAT:
            raise FitError(f"{path}: format {meta.get('format')!r}, expected {FORMAT}; fit it again")
        if meta["profile_model"] != model.id or meta["profile_ids"] != model.profile_ids:
            raise FitError(
                f"{path}: fitted for profile model {meta['profile_model']!r}, not {model.id!r}; "
                "fit it again with `betrokken label fit`"
            )
        k = len(model.profile_ids)
        text = None
        if meta["vocabulary"]:
            if arrays["weights"].shape != (len(meta["vocabulary"]), k) or len(arrays["idf"]) != len(
                meta["vocabulary"]
            ):
                raise FitError(f"{path}: the word weights do not match its vocabulary; fit it again")
            text = TextEvidence(meta["vocabulary"], arrays["idf"], arrays["weights"])
        return FittedEvidence(
            meta["profile_model"],
            meta["base_version"],
            meta["profile_ids"],
            arrays["bias"].astype(float),
            meta["signal_ids"],
            arrays["signal_coef"].astype(float).reshape(len(meta["signal_ids"]), k),
            text,
            arrays["train_prior"].astype(float),
            arrays["calibration_posteriors"].astype(float).reshape(-1, k),
            arrays["calibration_labels"].astype(int),
            meta["provenance"],
        )
    except FitError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise FitError(
            f"{path}: not a readable fitted evidence file ({type(exc).__name__}: {exc}); "
            "write it with `betrokken label fit`"
        ) from None


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _fit_once(
    model: ProfileModel,
    voices: Sequence[LabelledVoice],
    text_c: float,
    signal_sd: float,
    use_signals: bool,
) -> tuple[np.ndarray, np.ndarray, TextEvidence | None]:
    """MAP fit of (bias, signal coefficients, word weights) on these voices; without
    ``use_signals`` the signal coefficients are 0 (the fitted evidence ignores the signals)."""
    from scipy.sparse import csr_matrix, hstack  # only where a fit runs: the nightly flow only loads one

    ids = model.profile_ids
    k = len(ids)
    n = len(voices)
    y = np.array([v.label for v in voices])
    signal_ids = [s.id for s in model.signals] if use_signals else []
    used = [s for s in model.signals if s.id in signal_ids]
    prior_coef = np.log(np.array([[s.lr.get(pid, 1.0) for pid in ids] for s in used])).reshape(-1, k)
    prior_bias = np.log(model.prior())
    signals = np.zeros((n, len(signal_ids)))
    for i, voice in enumerate(voices):
        for s in voice.signals:
            if s in signal_ids:
                signals[i, signal_ids.index(s)] = 1.0
    counts = [feature_counts(v.posts) for v in voices]
    doc_freq = Counter(f for c in counts for f in c)
    vocabulary = sorted(f for f, d in doc_freq.items() if d >= MIN_DOC_FREQ)
    index = {f: i for i, f in enumerate(vocabulary)}
    idf = np.array([np.log((1 + n) / (1 + doc_freq[f])) + 1.0 for f in vocabulary])
    rows = [design_row(c, index, idf) for c in counts]
    # sparse: a labelled voice uses a few hundred of the tens of thousands of features
    text = csr_matrix(
        (
            np.concatenate([values for _, values in rows] or [np.empty(0)]),
            np.concatenate([columns for columns, _ in rows] or [np.empty(0, dtype=np.int64)]),
            np.cumsum([0] + [len(columns) for columns, _ in rows]),
        ),
        shape=(n, len(vocabulary)),
    )
    # One design matrix: a column of ones (the bias), the signals, the word features.
    design = hstack([np.ones((n, 1)), csr_matrix(signals), text]).tocsr()
    n_sig = signals.shape[1]
    prior_sd = np.concatenate([[BIAS_SD], np.full(n_sig, signal_sd), np.full(text.shape[1], np.sqrt(text_c))])
    prior_mean = np.vstack([prior_bias[None, :], prior_coef, np.zeros((text.shape[1], k))])
    theta = fit_map_multinomial(design, y, prior_sd, prior_mean)
    bias = theta[0]
    coef = np.zeros((len(model.signals), k))
    coef[[i for i, s in enumerate(model.signals) if s.id in signal_ids]] = theta[1 : 1 + n_sig]
    weights = theta[1 + n_sig :]
    return bias, coef, TextEvidence(vocabulary, idf, weights) if vocabulary else None


def fit_evidence(
    model: ProfileModel,
    voices: Sequence[LabelledVoice],
    *,
    source: str,
    text_c: float = TEXT_C,
    signal_sd: float = SIGNAL_SD,
    use_signals: bool = USE_SIGNALS,
    folds: int = FOLDS,
    seed: int = 0,
) -> FittedEvidence:
    """Fit on all labelled voices, and cross-fit (``folds``) for the calibration posteriors.

    Args:
        model: the hand-set profile model whose signals and ratios are the prior.
        voices: labelled voices; every profile should have some (a profile without labels is
            only known to the fit through the bias prior, and has no calibration).
        source: where the labels come from, kept in the file's provenance.
    """
    from profiles.evidence import EvidenceModel

    k = len(model.profile_ids)
    labels = np.array([v.label for v in voices], dtype=int)
    per_profile = np.bincount(labels, minlength=k) if len(labels) else np.zeros(k, dtype=int)
    if len(voices) < 2 * folds or (per_profile[per_profile > 0] < 2).any():
        raise FitError(
            f"{len(voices)} labelled voices ({_per_profile(model, per_profile)}): fitting needs"
            f" at least {2 * folds} voices and two per labelled profile"
        )
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(voices), dtype=int)
    for j in range(k):  # stratified folds
        members = np.flatnonzero(labels == j)
        rng.shuffle(members)
        fold_of[members] = np.arange(len(members)) % folds
    calibration = np.zeros((len(voices), k))
    for f in range(folds):
        train = [v for v, g in zip(voices, fold_of, strict=True) if g != f]
        held = np.flatnonzero(fold_of == f)
        bias, coef, text = _fit_once(model, train, text_c, signal_sd, use_signals)
        partial = _assemble(
            model, bias, coef, text, per_profile / per_profile.sum(), {}, calibration[:0], labels[:0]
        )
        evidence = EvidenceModel(model, partial)
        for i in held:
            calibration[i] = evidence.posterior(voices[i].signals, *evidence.text_of(voices[i].posts))
    bias, coef, text = _fit_once(model, voices, text_c, signal_sd, use_signals)
    provenance = {
        "source": source,
        "n_voices": len(voices),
        "per_profile": _per_profile(model, per_profile),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "text_c": text_c,
        "signal_sd": signal_sd,
        "use_signals": use_signals,
        "folds": folds,
    }
    return _assemble(
        model, bias, coef, text, per_profile / per_profile.sum(), provenance, calibration, labels
    )


def _per_profile(model: ProfileModel, counts: np.ndarray) -> dict[str, int]:
    return dict(zip(model.profile_ids, counts.tolist(), strict=True))


def _assemble(
    model: ProfileModel,
    bias: np.ndarray,
    coef: np.ndarray,
    text: TextEvidence | None,
    train_prior: np.ndarray,
    provenance: dict[str, Any],
    calibration: np.ndarray,
    labels: np.ndarray,
) -> FittedEvidence:
    return FittedEvidence(
        model.id,
        model.version_tag(),
        model.profile_ids,
        bias,
        [s.id for s in model.signals],
        coef,
        text,
        train_prior,
        calibration,
        labels,
        provenance,
    )
