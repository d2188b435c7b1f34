"""Profile models: YAML files validated on load. The code knows no profile by name."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import Field, ValidationError, model_validator

from common.csvfile import CsvError, parse_decimal, read_csv
from common.strict import StrictModel
from common.yamlfile import parse_yaml

SHIPPED_DIR = Path(str(resources.files("profiles")))


class ProfileModelError(Exception):
    """A profile model file is missing or invalid; the message names the file and the key."""


class Share(StrictModel):
    value: Annotated[float, Field(ge=0, le=1)]
    source: str | None = None
    assumption: bool = False

    @model_validator(mode="after")
    def _sourced(self) -> Share:
        if not self.assumption and not self.source:
            raise ValueError("a share needs a source, or assumption: true")
        return self


# What a municipality is like, as far as advice is concerned: one city of wijken and buurten, or a
# municipality of villages and small towns (kernen). Configured per municipality (`kind`) or taken
# from the shipped gazetteer of its CBS code.
MunicipalityKind = Literal["city", "villages"]
MUNICIPALITY_KINDS: tuple[str, ...] = ("city", "villages")


class Advice(StrictModel):
    aspect: Literal["channel", "tone", "form", "timing"]
    text: str
    source: str | None = None
    assumption: bool = False
    # the kinds of municipality the advice fits ("het dorpshuis" is no channel in a city); empty: any
    kinds: list[MunicipalityKind] = Field(default_factory=list)

    def fits(self, kind: str | None) -> bool:
        """Whether the advice fits a municipality of this kind; with the kind unknown, all advice does."""
        return kind is None or not self.kinds or kind in self.kinds

    @model_validator(mode="after")
    def _sourced(self) -> Advice:
        if not self.assumption and not self.source:
            raise ValueError("advice needs a source, or assumption: true")
        return self


class Profile(StrictModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    name: str
    description: str
    population_share: Share
    axes: dict[str, str] = Field(default_factory=dict)
    advice: list[Advice] = Field(default_factory=list)


class SignalMatch(StrictModel):
    """Conditions on one post; all given conditions must hold. Words: any lemma or phrase."""

    lemmas: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    trust: Literal["distrust", "neutral", "trust"] | None = None
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    source: str | None = None
    channel: str | None = None


class Signal(StrictModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    description: str
    match: SignalMatch
    lr: dict[str, Annotated[float, Field(gt=0)]]
    source: str | None = None
    assumption: bool = False


class ProfileModel(StrictModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    name: str
    version: int
    description: str
    source: str
    caveats: list[str] = Field(default_factory=list)
    profiles: Annotated[list[Profile], Field(min_length=2)]
    signals: list[Signal] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ProfileModel:
        ids = [p.id for p in self.profiles]
        if len(set(ids)) != len(ids):
            raise ValueError("profile ids must be unique")
        total = sum(p.population_share.value for p in self.profiles)
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"population shares must sum to 1 (they sum to {total:.3f})")
        for signal in self.signals:
            unknown = set(signal.lr) - set(ids)
            if unknown:
                raise ValueError(f"signal {signal.id}: lr names unknown profiles {sorted(unknown)}")
        return self

    @property
    def profile_ids(self) -> list[str]:
        return [p.id for p in self.profiles]

    def prior(self) -> np.ndarray:
        """Population shares as a probability vector aligned with ``profiles``."""
        shares = np.array([p.population_share.value for p in self.profiles], dtype=float)
        return shares / shares.sum()

    def version_tag(self) -> str:
        """Changes when the profiles or signals change (not the shares), so stored signals stay valid
        for a municipality's own population shares and are recomputed for a new evidence model."""
        evidence = [self.profile_ids, [s.model_dump(mode="json") for s in self.signals]]
        digest = hashlib.sha256(json.dumps(evidence, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.version}+{digest}"

    def with_population_shares(self, path: Path) -> ProfileModel:
        """This model with a municipality's own population shares, read from a small CSV.

        Columns: ``profile_id``, ``share`` (fractions or percentages), ``source``. Every profile of
        the model must appear once; the shares must sum to 1 (or 100).
        """
        return self.with_shares(read_population_shares(path, self.profile_ids))

    def with_shares(self, shares: dict[str, tuple[float, str]]) -> ProfileModel:
        """This model with the given {profile_id: (share, source)}, e.g. as stored in the warehouse."""
        profiles = [
            p.model_copy(update={"population_share": Share(value=shares[p.id][0], source=shares[p.id][1])})
            for p in self.profiles
        ]
        return self.model_copy(update={"profiles": profiles})


def read_population_shares(path: Path, profile_ids: list[str]) -> dict[str, tuple[float, str]]:
    """Validated {profile_id: (share, source)} from a municipality's CSV; errors name file and row."""
    try:
        rows = read_csv(
            path, ["profile_id", "share", "source"], hint="Its columns: profile_id, share, source."
        )
    except CsvError as exc:
        raise ProfileModelError(f"population shares: {exc}") from None
    shares: dict[str, tuple[float, str]] = {}
    for line, row in enumerate(rows, start=2):
        pid = row["profile_id"].strip()
        if pid not in profile_ids:
            raise ProfileModelError(
                f"{path}: line {line}: unknown profile_id {pid!r}; expected one of {profile_ids}"
            )
        if pid in shares:
            raise ProfileModelError(f"{path}: line {line}: {pid!r} appears twice")
        try:
            value = parse_decimal(row["share"])
        except ValueError:
            raise ProfileModelError(f"{path}: line {line}: share {row['share']!r} is not a number") from None
        if not row["source"].strip():
            raise ProfileModelError(f"{path}: line {line}: give the source of the share (e.g. your licence)")
        shares[pid] = (value, row["source"].strip())
    absent = [p for p in profile_ids if p not in shares]
    if absent:
        raise ProfileModelError(f"{path}: no share for {absent}")
    total = sum(v for v, _ in shares.values())
    scale = 100.0 if abs(total - 100.0) <= 1.0 else 1.0
    if abs(total / scale - 1.0) > 0.01:
        raise ProfileModelError(f"{path}: shares sum to {total:g}; they must sum to 1 (or 100)")
    return {p: (v / scale, src) for p, (v, src) in shares.items()}


def resolve_model_path(ref: str) -> Path:
    """A shipped model id ("citisens") or a path to a YAML file."""
    shipped = SHIPPED_DIR / f"{ref}.yaml"
    if "/" not in ref and not ref.endswith((".yaml", ".yml")) and shipped.exists():
        return shipped
    path = Path(ref)
    if path.exists():
        return path
    available = ", ".join(sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml")))
    raise ProfileModelError(
        f"profile_model = {ref!r}: no shipped model of that id and no such file (shipped: {available})"
    )


def load_model(ref: str) -> ProfileModel:
    path = resolve_model_path(ref)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileModelError(f"{path}: not valid YAML: {exc}") from None
    try:
        return ProfileModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise ProfileModelError(f"{path}: invalid profile model: {problems}") from None


def load_model_for(ref: str, population_shares: Path | None = None) -> ProfileModel:
    """The model, with a municipality's own population shares when it supplies them."""
    model = load_model(ref)
    return model.with_population_shares(population_shares) if population_shares is not None else model
