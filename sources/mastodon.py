"""Mastodon: the public hashtag timelines of one instance, through Mastodon.py.

This is the client: token, timelines, paging, retries and watermarks. What a status becomes is
decided by the pure mapping in ``sources.mastodon_mapping``.

- No token where the instance serves hashtag timelines publicly (most do); where it does not, a
  token from ``BETROKKEN_MASTODON_TOKEN_<HOST>`` (the host upper-cased, other characters as ``_``:
  ``BETROKKEN_MASTODON_TOKEN_MASTODON_NL``). The token is never logged, and never part of an error.
- Watermark per hashtag timeline (``#utrecht@mastodon.nl``): the newest status id read. The next
  run asks for ``min_id=<watermark>`` and pages forward (towards newer) oldest page first, so a run
  that stops at ``limit`` continues the next night where it stopped, without a gap. The first run
  reads the newest ``limit`` statuses.
- Rate limits: Mastodon.py runs with ``ratelimit_method="throw"``. Its default "wait" sleeps until
  the server's reset (up to 5 minutes a time, with no bound on how often), and "pace" spreads every
  request over the window; a nightly run of a few requests needs neither, and must stay inside its
  time limit. So a 429 raises, and our retry waits for the server's ``X-RateLimit-Reset`` (which
  Mastodon.py reads), capped at ``max_wait_s``, or backs off exponentially; 5xx and network errors
  back off the same way, ``retries`` attempts in all.
- Deletions: a deleted status simply stops appearing in the timeline; a hashtag timeline cannot
  tell a deletion from an old status, so deletion at the source is not detected (the retention
  purge still removes the text after ``retention_days``).
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from sources.base import SourceConfig, SourceError, SourceResult
from sources.mastodon_mapping import channel, host, map_status, original, required
from sources.pseudonym import Pseudonymiser

ENV_TOKEN_PREFIX = "BETROKKEN_MASTODON_TOKEN_"
USER_AGENT = "betrokken/0.1 (+https://github.com/betrokken; municipal policy listening)"
PAGE_SIZE = 40  # Mastodon's maximum for a timeline page


def token_env(instance: str) -> str:
    """The environment variable that holds an instance's access token, e.g.
    ``BETROKKEN_MASTODON_TOKEN_MASTODON_NL`` for ``https://mastodon.nl``."""
    return ENV_TOKEN_PREFIX + re.sub(r"[^A-Z0-9]", "_", host(instance).upper())


def token_for(instance: str) -> str | None:
    """The instance's token from the environment; None (read without one) when not set."""
    return os.environ.get(token_env(instance)) or None


class MastodonState(TypedDict, total=False):
    """What a Mastodon source keeps between runs: per hashtag timeline (``#utrecht@mastodon.nl``)
    the id of the newest status read (empty before the first run)."""

    watermarks: dict[str, str]


@dataclass(frozen=True, slots=True)
class MastodonCollectOptions:
    """How the source reads Mastodon (the config's ``[mastodon]`` table turns into this)."""

    limit: int = 200
    timeout_s: float = 20.0
    retries: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 300.0
    resolve_threads: bool = True

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> MastodonCollectOptions:
        """From the config's ``[mastodon]`` table (whose key names are the contract)."""
        return cls(
            limit=table["limit"],
            timeout_s=table["timeout_s"],
            retries=table["retries"],
            backoff_s=table["backoff_s"],
            max_wait_s=table["max_wait_s"],
            resolve_threads=table["resolve_threads"],
        )


def _id_key(status_id: Any) -> tuple[int, str]:
    """Status ids are decimal strings of growing value: compared by length, then text."""
    text = str(status_id)
    return (len(text), text)


class MastodonSource:
    """The configured hashtags on one instance for one municipality, incremental per hashtag."""

    def __init__(
        self,
        municipality_id: str,
        instance: str,
        hashtags: list[str],
        pseudonymiser: Pseudonymiser,
        options: MastodonCollectOptions | None = None,
    ) -> None:
        self.key = f"mastodon:{municipality_id}"
        self.municipality_id = municipality_id
        self.instance = instance.rstrip("/")
        self.hashtags = hashtags
        self.pseudonymiser = pseudonymiser
        self.options = options or MastodonCollectOptions()

    def __repr__(self) -> str:  # never the token
        return f"MastodonSource({self.key!r}, instance={self.instance!r}, hashtags={self.hashtags!r})"

    def _client(self, token: str | None) -> Any:
        from mastodon import Mastodon

        return Mastodon(
            api_base_url=self.instance,
            access_token=token,
            ratelimit_method="throw",
            request_timeout=self.options.timeout_s,
            version_check_mode="none",
            user_agent=USER_AGENT,
        )

    def _wait(self, client: Any) -> Callable[[RetryCallState], float]:
        def wait(state: RetryCallState) -> float:
            backoff = self.options.backoff_s * 2 ** (state.attempt_number - 1)
            reset = getattr(client, "ratelimit_reset", None)
            until_reset = (reset - time.time()) if reset else 0.0
            return min(max(backoff, until_reset), self.options.max_wait_s)

        return wait

    def _call(self, client: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from mastodon import MastodonNetworkError, MastodonRatelimitError, MastodonServerError

        retrying = Retrying(
            stop=stop_after_attempt(self.options.retries),
            wait=self._wait(client),
            retry=retry_if_exception_type(
                (MastodonRatelimitError, MastodonServerError, MastodonNetworkError)
            ),
            reraise=True,
        )
        with warnings.catch_warnings():
            # Mastodon.py warns when the instance says hashtag timelines need a login; the request
            # is made anyway and a 401 says so clearly.
            warnings.simplefilter("ignore")
            return retrying(fn, *args, **kwargs)

    def _timeline(self, client: Any, tag: str, mark: str | None) -> list[Mapping[str, Any]]:
        """Up to ``limit`` statuses of a hashtag timeline after ``mark``, oldest first."""
        limit = self.options.limit
        page_size = min(PAGE_SIZE, limit)
        out: list[Mapping[str, Any]] = []
        if mark:  # forward from the watermark: each page newest first, pages from old to new
            page = self._call(client, client.timeline_hashtag, tag, min_id=mark, limit=page_size)
            while page and len(out) < limit:
                out.extend(list(reversed(page))[: limit - len(out)])
                page = self._call(client, client.fetch_previous, page)
            return out
        page = self._call(client, client.timeline_hashtag, tag, limit=page_size)  # the newest first
        while page and len(out) < limit:
            out.extend(list(page)[: limit - len(out)])
            if len(out) < limit:
                page = self._call(client, client.fetch_next, page)
        return list(reversed(out))

    def _threads(self, client: Any, statuses: list[Mapping[str, Any]]) -> dict[str, tuple[str, str | None]]:
        """(parent uri, root uri or None) of each reply, by the reply's id: from the statuses read
        when the parent is among them, else from the reply's context (one request, if enabled)."""
        from mastodon import MastodonAPIError

        by_id = {str(s["id"]): s for s in statuses}
        known: dict[str, tuple[str, str | None]] = {}

        def resolve(status: Mapping[str, Any], depth: int = 0) -> tuple[str, str | None] | None:
            sid = str(status["id"])
            if sid in known:
                return known[sid]
            parent = by_id.get(str(status["in_reply_to_id"]))
            if parent is not None and depth < 50:
                if not parent.get("in_reply_to_id"):
                    known[sid] = (str(parent["uri"]), str(parent["uri"]))
                else:
                    above = resolve(parent, depth + 1)
                    known[sid] = (str(parent["uri"]), above[1] if above else None)
                return known[sid]
            if not self.options.resolve_threads:
                return None
            try:
                context = self._call(client, client.status_context, sid)
            except MastodonAPIError:  # gone or not visible: the reply stays, without its parent
                return None
            ancestors = list(context.get("ancestors") or [])
            if ancestors:
                known[sid] = (str(ancestors[-1]["uri"]), str(ancestors[0]["uri"]))
            return known.get(sid)

        for status in statuses:
            if status.get("in_reply_to_id"):
                resolve(status)
        return known

    def collect(self, state: MastodonState) -> SourceResult:
        from mastodon import MastodonError, MastodonNetworkError, MastodonUnauthorizedError

        started = time.monotonic()
        result = SourceResult(self.key)
        watermarks: dict[str, str] = dict(state.get("watermarks", {}))
        token = token_for(self.instance)
        seen: set[str] = set()
        languages: Counter[str] = Counter()
        try:
            client = self._client(token)
            for tag in self.hashtags:
                name = channel(tag, self.instance)
                statuses = self._timeline(client, tag, watermarks.get(name))
                if not statuses:
                    continue
                newest = max((str(required(s, "id")) for s in statuses), key=_id_key)
                originals = []
                for status in statuses:
                    status = original(status)
                    if status.get("visibility") in ("private", "direct"):  # never in a tag timeline
                        continue
                    if (
                        str(required(status, "uri")) in seen
                    ):  # a boost of a status read already, or another tag
                        continue
                    seen.add(str(status["uri"]))
                    originals.append(status)
                threads = self._threads(client, originals)
                for status in originals:
                    parent_uri, root_uri = threads.get(str(status["id"]), (None, None))
                    result.posts.append(
                        map_status(
                            status,
                            name,
                            self.pseudonymiser,
                            self.municipality_id,
                            parent_uri=parent_uri,
                            root_uri=root_uri,
                        )
                    )
                    languages[str(status.get("language") or "unknown")] += 1
                watermarks[name] = newest
        except MastodonUnauthorizedError:
            hint = "the token was refused" if token else f"set {token_env(self.instance)} to a token"
            raise SourceError(
                f"Mastodon {host(self.instance)}: hashtag timeline needs a login (HTTP 401); {hint}"
            ) from None
        except MastodonNetworkError as exc:
            raise SourceError(
                f"Mastodon {host(self.instance)}: not reachable ({type(exc).__name__}) "
                f"after {self.options.retries} attempts"
            ) from None
        except MastodonError as exc:
            raise SourceError(
                f"Mastodon {host(self.instance)}: {type(exc).__name__} ({_reason(exc, token)})"
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(
                f"Mastodon {host(self.instance)}: unusable status data ({type(exc).__name__})"
            ) from None
        other = sum(n for lang, n in languages.items() if lang != "nl")
        if other:
            result.warnings.append(
                f"Mastodon {host(self.instance)}: {other} of {sum(languages.values())} statuses not marked "
                "as Dutch; kept, the language is detected in NLP"
            )
        result.state = MastodonState(watermarks=watermarks)
        result.duration_s = time.monotonic() - started
        return result

    def probe(self) -> int:
        """Read every hashtag timeline once from the start; returns how many statuses came back."""
        return len(self.collect({}).posts)


def _reason(exc: Exception, token: str | None) -> str:
    """A short reason from a Mastodon.py error: HTTP status and reason only (no response body,
    which for bad JSON is the whole page), and never the token."""
    args = getattr(exc, "args", ())
    if len(args) >= 3 and isinstance(args[1], int):
        reason = f"HTTP {args[1]} {args[2]}"
    elif args and str(args[0]).startswith("Could not parse response as JSON"):
        reason = "the response is not JSON"
    else:
        reason = str(args[0]) if args else ""
    reason = reason[:200]
    return reason.replace(token, "<token>") if token else reason


def configured(section: Mapping[str, Any] | None) -> bool:
    """Whether a municipality names an instance and any hashtag."""
    return bool(section and section.get("instance") and section.get("hashtags"))


def channels(section: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The channels of a municipality's hashtag timelines, for the gazetteer."""
    if not configured(section):
        return ()
    return tuple(channel(tag, section["instance"]) for tag in section["hashtags"])


def build(config: SourceConfig) -> list[MastodonSource]:
    """One source for the municipality's hashtags on its instance, with the ``[mastodon]`` options."""
    section = config.section
    return [
        MastodonSource(
            config.municipality_id,
            section["instance"],
            section["hashtags"],
            config.pseudonymiser,
            MastodonCollectOptions.from_config(config.options),
        )
    ]
