"""Bluesky: public posts found by ``app.bsky.feed.searchPosts``, through the atproto client.

This is the client: credentials, login, search paging, retries and watermarks. What a post view
becomes is decided by the pure mapping in ``sources.bluesky_mapping``.

Search needs a logged-in account (an app password is enough). The handle and the app password are
only handed to ``createSession``: never logged, never in a message (server messages are redacted).
Search never returns deleted posts, so deletions are not seen here; the retention purge drops the
text of every stored post after ``retention_days``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from sources.base import SourceConfig, SourceError, SourceResult
from sources.bluesky_mapping import MappingError, map_post, sort_at
from sources.pseudonym import Pseudonymiser

log = logging.getLogger(__name__)

ENV_HANDLE = "BETROKKEN_BLUESKY_HANDLE"
ENV_APP_PASSWORD = "BETROKKEN_BLUESKY_APP_PASSWORD"
DEFAULT_SERVICE = "https://bsky.social"
OVERLAP = timedelta(hours=48)  # re-read this window: search indexes late, and replies come late
PAGE_SIZE = 100  # the most searchPosts returns per request
MAX_RATE_LIMIT_WAIT_S = 300.0  # a 429 that asks for a longer wait fails the source (Prefect retries it)
# The one line a run notes when Bluesky is configured but no credentials are found.
CREDENTIALS_ABSENT = (
    f"Bluesky skipped: set {ENV_HANDLE} and {ENV_APP_PASSWORD} "
    "(or [bluesky] secret_block) to collect it; see README."
)
_KEYS = ("handle", "app_password")

T = TypeVar("T")


def credentials_from_env() -> dict[str, str] | None:
    """Handle and app password from the environment, or None when they are not both set."""
    values = {"handle": os.environ.get(ENV_HANDLE, ""), "app_password": os.environ.get(ENV_APP_PASSWORD, "")}
    return values if all(values.values()) else None


def credentials_from_block(block_name: str) -> dict[str, str] | None:
    """Credentials from a Prefect Secret block holding a JSON object with ``handle`` and
    ``app_password``; None when it cannot be read."""
    try:
        from prefect.blocks.system import Secret

        value = Secret.load(block_name).get()
    except Exception:  # no server, no block, wrong type: treated as "no credentials", never echoed
        return None
    if not isinstance(value, dict):
        return None
    values = {k: str(value.get(k, "")) for k in _KEYS}
    return values if all(values.values()) else None


def find_credentials(options: Mapping[str, Any]) -> dict[str, str] | None:
    """Environment variables first, then the Prefect Secret block named by ``secret_block``."""
    credentials = credentials_from_env()
    if credentials is None and options.get("secret_block"):
        credentials = credentials_from_block(options["secret_block"])
    return credentials


class BlueskyState(TypedDict, total=False):
    """What a Bluesky source keeps between runs: per search term ("Utrecht", "#utrecht") the newest
    time seen (search's ``sortAt``, as seconds since the epoch; empty before the first run)."""

    watermarks: dict[str, float]


@dataclass(frozen=True, slots=True)
class BlueskyCollectOptions:
    """How the source reads Bluesky (the config's ``[bluesky]`` table turns into this)."""

    service: str = DEFAULT_SERVICE
    limit: int = 500  # posts per search term and run
    overlap_s: float = OVERLAP.total_seconds()
    retries: int = 4
    backoff_s: float = 2.0

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> BlueskyCollectOptions:
        """From the config's ``[bluesky]`` table (whose key names are the contract)."""
        return cls(
            service=str(table["service"]),
            limit=table["limit"],
            overlap_s=table["overlap_hours"] * 3600,
            retries=table["retries"],
            backoff_s=table["backoff_s"],
        )


def _transient(exc: BaseException) -> bool:
    """Worth another try: a rate limit, a server error, a dropped connection."""
    from atproto_client import exceptions

    if isinstance(exc, exceptions.RateLimitExceededError | exceptions.NetworkError):
        return True
    if isinstance(exc, exceptions.RequestException) and exc.response is not None:
        return exc.response.status_code >= 500
    return False


def _rate_limit_wait(exc: BaseException | None) -> float | None:
    """The wait a 429 asks for (``retry-after``, else ``ratelimit-reset``), or None."""
    from atproto_client.exceptions import RateLimitExceededError

    if not isinstance(exc, RateLimitExceededError):
        return None
    if exc.retry_after is not None:
        return exc.retry_after
    if exc.reset_at is not None:
        return max((exc.reset_at - datetime.now(UTC)).total_seconds(), 0.0)
    return None


class BlueskySource:
    """Configured search terms for one municipality, incremental per term.

    State: a watermark (newest ``sortAt`` seen) per term. Each run searches from an overlap window
    before the watermark (``since``), newest first, page by page up to ``limit`` posts per term;
    posts seen before come back in the overlap and are not stored twice.
    """

    def __init__(
        self,
        municipality_id: str,
        search: list[str],
        pseudonymiser: Pseudonymiser,
        credentials: dict[str, str],
        options: BlueskyCollectOptions | None = None,
    ) -> None:
        self.key = f"bluesky:{municipality_id}"
        self.municipality_id = municipality_id
        self.search = search
        self.pseudonymiser = pseudonymiser
        self._credentials = credentials
        self.options = options or BlueskyCollectOptions()

    def __repr__(self) -> str:
        return f"BlueskySource({self.key!r}, search={self.search!r}, service={self.options.service!r})"

    def _redact(self, text: str) -> str:
        for value in self._credentials.values():
            if value:
                text = text.replace(value, "***")
        return text

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = _rate_limit_wait(exc)
        if asked is not None:
            if asked > MAX_RATE_LIMIT_WAIT_S:
                raise SourceError(f"Bluesky: rate limited for {asked:.0f} s; the next run goes on")
            return asked
        return wait_exponential(multiplier=self.options.backoff_s, max=120)(retry_state)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.options.retries),
            wait=self._wait,
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        return retrying(fn, *args, **kwargs)

    def _login(self) -> Any:
        from atproto import Client
        from atproto_client.exceptions import AtProtocolError, UnauthorizedError

        client = Client(base_url=self.options.service)
        try:
            # No profile lookup: the session is all that search needs.
            self._call(
                client.login,
                self._credentials["handle"],
                self._credentials["app_password"],
                fetch_bsky_profile=False,
            )
        except UnauthorizedError as exc:
            raise SourceError(
                f"Bluesky: login refused ({self._redact(str(exc))}); check {ENV_HANDLE} and "
                f"{ENV_APP_PASSWORD} (an app password, not the account password)"
            ) from None
        except (AtProtocolError, ValueError) as exc:
            raise SourceError(f"Bluesky: login failed: {self._describe(exc)}") from None
        return client

    def _describe(self, exc: Exception) -> str:
        from atproto_client.exceptions import ModelError

        # a validation message quotes the response, which may name people
        if isinstance(exc, ModelError | MappingError):
            return "the response is not what the API describes"
        if isinstance(exc, ValueError):
            return "the response is not JSON"
        tries = f" after {self.options.retries} attempts" if _transient(exc) else ""
        return f"{type(exc).__name__} ({self._redact(str(exc))}){tries}"

    def _search(self, client: Any, term: str, since: float | None, limit: int) -> tuple[list[dict], bool]:
        """Post views (JSON) for one term, newest first, from ``since`` on; and whether more were
        left when ``limit`` was reached."""
        from atproto_client import models
        from atproto_client.models.utils import get_model_as_dict

        views: list[dict] = []
        cursor: str | None = None
        while len(views) < limit:
            params = models.AppBskyFeedSearchPosts.Params(
                q=term,
                lang="nl",
                sort="latest",
                since=_iso(since) if since is not None else None,
                cursor=cursor,
                limit=min(PAGE_SIZE, limit - len(views)),
            )
            page = self._call(client.app.bsky.feed.search_posts, params)
            past_window = False
            for post in page.posts:
                view = get_model_as_dict(post)
                if since is not None and sort_at(view).timestamp() < since:
                    past_window = True  # a service that ignores ``since``: the window is kept here
                    continue
                views.append(view)
            cursor = page.cursor
            if not cursor or not page.posts or past_window:  # newest first: the rest is older still
                return views, False
        return views[:limit], True

    def probe(self) -> int:
        """Log in and search every term once (a few posts); returns how many came back."""
        from atproto_client.exceptions import AtProtocolError

        client = self._login()
        try:
            return sum(len(self._search(client, term, None, 5)[0]) for term in self.search)
        except (AtProtocolError, MappingError, ValueError) as exc:
            raise SourceError(f"Bluesky: search failed: {self._describe(exc)}") from None

    def collect(self, state: BlueskyState) -> SourceResult:
        from atproto_client.exceptions import AtProtocolError

        started = time.monotonic()
        result = SourceResult(self.key)
        watermarks: dict[str, float] = dict(state.get("watermarks", {}))
        now = datetime.now(UTC).timestamp()
        seen: set[str] = set()
        client = self._login()
        try:
            for term in self.search:
                mark = float(watermarks.get(term, 0.0))
                since = mark - self.options.overlap_s if mark else None
                views, more = self._search(client, term, since, self.options.limit)
                if more:
                    result.warnings.append(
                        f"Bluesky: search {term!r} reached the limit of {self.options.limit} posts; "
                        "older posts of the window were not read (raise [bluesky] limit)"
                    )
                for view in views:
                    if not more:  # a cut-short search keeps its watermark: the unread part stays due
                        mark = max(mark, min(sort_at(view).timestamp(), now))
                    post = map_post(view, self.pseudonymiser, term, self.municipality_id)
                    if post.post_id in seen:  # found by an earlier term: its channel is that term's
                        continue
                    seen.add(post.post_id)
                    result.posts.append(post)
                if mark:
                    watermarks[term] = mark
        except (AtProtocolError, MappingError, ValueError) as exc:
            raise SourceError(f"Bluesky: search failed: {self._describe(exc)}") from None
        result.state = BlueskyState(watermarks=watermarks)
        result.duration_s = time.monotonic() - started
        return result


def _iso(timestamp: float) -> str:
    """Seconds since the epoch as an atproto datetime (UTC, milliseconds, ``Z``)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def configured(section: Mapping[str, Any] | None) -> bool:
    """Whether a municipality names any search term."""
    return bool(section and section["search"])


def channels(section: Mapping[str, Any] | None) -> tuple[str, ...]:
    """None: a search term is no community, so it tells nothing about the municipality (as
    Reddit's searches); a post counts when it names the municipality or one of its places."""
    return ()


def build(config: SourceConfig) -> list[BlueskySource]:
    """One source for the municipality's search terms, with the ``[bluesky]`` options."""
    if config.credentials is None:  # the registry skips Bluesky, with a note, before it gets here
        return []
    return [
        BlueskySource(
            config.municipality_id,
            config.section["search"],
            config.pseudonymiser,
            config.credentials,
            BlueskyCollectOptions.from_config(config.options),
        )
    ]
