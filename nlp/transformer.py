"""Transformer backends (optional extra ``transformers``): sentiment from a sequence-classification
model and zero-shot topics from an NLI model, both loaded from a local directory or the local cache
only (``local_files_only``), batched and truncated, on CPU or GPU.

Models are fetched once, on a machine with internet, with ``betrokken models download``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.extras import needs_extra
from nlp.sentiment import NEUTRAL_BAND, Sentiment
from nlp.topics import Topic

DEFAULT_SENTIMENT_MODEL = "DTAI-KULeuven/robbert-v2-dutch-sentiment"
DEFAULT_ZERO_SHOT_MODEL = "MoritzLaurer/mDeBERTa-v3-base-mnli-xnli"
HYPOTHESIS = "Dit bericht gaat over {}."


class TransformerUnavailable(Exception):
    """The extra is not installed or the model is not on this machine; the message says what to do."""


# What a missing extra is told, and the modules it brings.
_MISSING = needs_extra("the transformer backend", "transformers")
_EXTRA_MODULES = ("torch", "transformers")


def check_extra() -> None:
    """TransformerUnavailable, naming the extra, where it is not installed; without importing it,
    which takes seconds (for a configuration check, or a process that hands the NLP to workers)."""
    from importlib.util import find_spec

    for name in _EXTRA_MODULES:
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):  # a finder that refuses it, or a module set to None
            found = False
        if not found:
            raise TransformerUnavailable(_MISSING)


def require_extra() -> tuple[object, object]:
    """torch and transformers; TransformerUnavailable, naming the extra, where they do not import."""
    try:
        import torch
        import transformers
    except ImportError:
        raise TransformerUnavailable(_MISSING) from None
    return torch, transformers


def _device(torch: object, device: str | None) -> str:
    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"  # type: ignore[attr-defined]


def _load(model: str, kind: str) -> tuple[object, object]:
    _, transformers = require_extra()
    auto_model = getattr(transformers, kind)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model, local_files_only=True)  # type: ignore[attr-defined]
        network = auto_model.from_pretrained(model, local_files_only=True)
    except OSError as exc:
        raise TransformerUnavailable(
            f"model {model!r} is not on this machine ({type(exc).__name__}); run "
            f"`betrokken models download` where there is internet, or give a local directory"
        ) from None
    network.eval()
    return tokenizer, network


def _polarity_of(label: str) -> str | None:
    name = label.lower()
    if name.startswith("neg") or name in {"label_0", "0", "-1"}:
        return "negative"
    if name.startswith("pos") or name in {"label_1", "1"}:
        return "positive"
    if name.startswith("neu"):
        return "neutral"
    return None


@dataclass
class TransformerSentiment:
    """Sentiment from a fine-tuned classifier; score = P(positive) - P(negative)."""

    model: str = DEFAULT_SENTIMENT_MODEL
    device: str | None = None
    batch_size: int = 32
    max_length: int = 256
    name: str = "transformers"

    def __post_init__(self) -> None:
        self._torch, _ = require_extra()
        self.tokenizer, self.network = _load(self.model, "AutoModelForSequenceClassification")
        self.device = _device(self._torch, self.device)
        self.network.to(self.device)  # type: ignore[attr-defined]
        id2label = self.network.config.id2label  # type: ignore[attr-defined]
        self.labels = [_polarity_of(id2label[i]) for i in range(len(id2label))]
        if "positive" not in self.labels or "negative" not in self.labels:
            raise TransformerUnavailable(
                f"model {self.model!r} has labels {list(id2label.values())}; a sentiment model needs a "
                "negative and a positive label"
            )

    def predict(self, texts: Sequence[str]) -> list[Sentiment]:
        torch = self._torch
        out: list[Sentiment] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t or " " for t in texts[start : start + self.batch_size]]
            encoded = self.tokenizer(  # type: ignore[operator]
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            with torch.no_grad():  # type: ignore[attr-defined]
                probs = self.network(**encoded).logits.softmax(dim=-1).cpu().tolist()  # type: ignore[operator]
            for row in probs:
                pos = sum(p for p, label in zip(row, self.labels, strict=True) if label == "positive")
                neg = sum(p for p, label in zip(row, self.labels, strict=True) if label == "negative")
                score = max(-1.0, min(1.0, pos - neg))
                if "neutral" in self.labels:  # a three-way model says neutral itself
                    label = self.labels[max(range(len(row)), key=row.__getitem__)] or "neutral"
                else:  # a two-way model: close calls are neutral
                    label = (
                        "neutral" if abs(score) <= NEUTRAL_BAND else "positive" if score > 0 else "negative"
                    )
                out.append(Sentiment(label, round(score, 4)))
        return out


@dataclass
class ZeroShotTopics:
    """Multi-label topics from an NLI model: P(entailment) of "Dit bericht gaat over <label>." per topic."""

    topics: Sequence[Topic]
    model: str = DEFAULT_ZERO_SHOT_MODEL
    device: str | None = None
    threshold: float = 0.5
    batch_size: int = 32
    max_length: int = 256

    def __post_init__(self) -> None:
        self._torch, _ = require_extra()
        self.tokenizer, self.network = _load(self.model, "AutoModelForSequenceClassification")
        self.device = _device(self._torch, self.device)
        self.network.to(self.device)  # type: ignore[attr-defined]
        label2id = {k.lower(): v for k, v in self.network.config.label2id.items()}  # type: ignore[attr-defined]
        if "entailment" not in label2id or "contradiction" not in label2id:
            raise TransformerUnavailable(
                f"model {self.model!r} is not an NLI model (labels {sorted(label2id)}); zero-shot topics "
                "need 'entailment' and 'contradiction' labels"
            )
        self._entail, self._contra = label2id["entailment"], label2id["contradiction"]

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """(topic id, probability) above the threshold for each text, most likely first."""
        torch = self._torch
        pairs = [(t or " ", HYPOTHESIS.format(topic.label.lower())) for t in texts for topic in self.topics]
        probs: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            premises, hypotheses = zip(*pairs[start : start + self.batch_size], strict=True)
            encoded = self.tokenizer(  # type: ignore[operator]
                list(premises),
                list(hypotheses),
                padding=True,
                truncation="only_first",
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with torch.no_grad():  # type: ignore[attr-defined]
                logits = self.network(**encoded).logits  # type: ignore[operator]
            two = logits[:, [self._entail, self._contra]].softmax(dim=-1)[:, 0]
            probs.extend(two.cpu().tolist())
        k = len(self.topics)
        out = []
        for i in range(len(texts)):
            row = [(self.topics[j].id, round(probs[i * k + j], 4)) for j in range(k)]
            out.append(sorted((r for r in row if r[1] >= self.threshold), key=lambda r: -r[1]))
        return out
