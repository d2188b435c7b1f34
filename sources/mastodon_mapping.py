"""Mastodon statuses as Posts, pure: no client, no network.

``map_status`` turns one status (the API's JSON, as a dict, or the dict-like ``Status`` that
Mastodon.py returns) into a Post. The HTML ``content`` becomes text with the RSS mapping's
``html_to_text``.

Privacy: an account appears only as the keyed hash of its ``acct``. The display name, username and
account URL are never read, and neither is the status's ``uri`` or ``url`` stored as such, since
both carry the username (``https://host/users/alice/statuses/1``): the id is a hash of the ``uri``
(stable, and the same on every instance that federates the status), and the Post has no url.
Mentions in the text are scrubbed at ingest, like every source's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sources.base import Post
from sources.pseudonym import Pseudonymiser
from sources.rss_mapping import html_to_text

SOURCE = "mastodon"


def host(instance: str) -> str:
    """The host of an instance URL (``https://mastodon.nl`` -> ``mastodon.nl``), lower-cased."""
    return (urlsplit(instance if "//" in instance else f"https://{instance}").hostname or instance).lower()


def channel(tag: str, instance: str) -> str:
    """The channel of a hashtag timeline on an instance, as the gazetteer matches it:
    ``#utrecht@mastodon.nl``."""
    return f"#{tag.lower()}@{host(instance)}"


def post_id(uri: str, pseudonymiser: Pseudonymiser) -> str:
    """The stable id of a status: the keyed hash of its ActivityPub ``uri``, which is the same on
    every instance (so one status seen through two instances is one item). The URI names its
    author, so without the key the id cannot be matched to a public status."""
    return f"{SOURCE}:{pseudonymiser.item_key(uri)}"


# A status's address as people see it (https://host/@user/123), and its ActivityPub URI
# (https://host/users/user/statuses/123), which Mastodon derives from it for its own statuses.
_STATUS_URL = re.compile(r"^(https://[^/\s]+)/@([\w.-]+)/(\d+)/?$")
_STATUS_URI = re.compile(r"^https://[^/\s]+/users/[\w.-]+/statuses/\d+$")


def stored_id(reference: str, pseudonymiser: Pseudonymiser) -> str | None:
    """The stored id of a status given by its URI or its address on its own instance (an erasure
    request), or None for another platform's reference."""
    reference = reference.strip()
    if url := _STATUS_URL.match(reference):
        reference = f"{url[1]}/users/{url[2]}/statuses/{url[3]}"
    return post_id(reference, pseudonymiser) if _STATUS_URI.match(reference) else None


# An account as people write it: user@instance, @user@instance, or its address https://instance/@user.
_ACCOUNT = re.compile(r"^@?([\w.-]+)@([\w-]+(?:\.[\w-]+)+)$")
_ACCOUNT_URL = re.compile(r"^https://([^/\s]+)/@([\w.-]+)/?$")


def author_name(reference: str) -> str | None:
    """The ``user@instance`` an author's key is the hash of (as ``_acct`` makes it), from how a
    person asking for erasure writes the account; None for another platform's account."""
    reference = reference.strip()
    if url := _ACCOUNT_URL.match(reference):
        return f"{url[2]}@{host(url[1])}"
    account = _ACCOUNT.match(reference)
    return f"{account[1]}@{host(account[2])}" if account else None


def original(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The status a boost points to, or the status itself. A boost is no new voice: the booster is
    dropped and the original counts once (by its id, which is that of its ``uri``)."""
    reblog = status.get("reblog")
    return reblog if reblog else status


def required(status: Mapping[str, Any], key: str) -> Any:
    """A field every status has; ValueError when it is missing or empty (unusable data)."""
    value = status.get(key)
    if value is None or value == "":
        raise ValueError(f"a status without {key}")
    return value


def _created(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _acct(status: Mapping[str, Any]) -> str | None:
    """The account's ``acct`` (``alice`` locally, ``alice@host`` remotely), qualified with the
    instance's host when local, so the same person hashes alike whichever instance we read."""
    account = status.get("account") or {}
    acct = account.get("acct")
    if not acct:
        return None
    acct = str(acct)
    if "@" not in acct:
        uri = str(status.get("uri") or "")
        acct = f"{acct}@{host(uri)}" if uri else acct
    return acct


def map_status(
    status: Mapping[str, Any],
    channel_name: str,
    pseudonymiser: Pseudonymiser,
    hint: str | None = None,
    *,
    parent_uri: str | None = None,
    root_uri: str | None = None,
) -> Post:
    """A status (not a boost: pass ``original(status)``) as a Post.

    A reply (``in_reply_to_id`` set) is a comment; ``parent_uri`` and ``root_uri`` are the ``uri``s
    of the status it answers and of its conversation's first status, when the client knows them
    (the thread is the root if known, else the parent). The content warning (``spoiler_text``)
    becomes the title. ``language`` is not used here: the NLP stage detects language itself.
    """
    is_reply = bool(status.get("in_reply_to_id"))
    parent = post_id(parent_uri, pseudonymiser) if is_reply and parent_uri else None
    own = post_id(str(required(status, "uri")), pseudonymiser)
    # a reply whose conversation could not be found is a thread of its own, never a thread of none
    thread = post_id(root_uri, pseudonymiser) if is_reply and root_uri else parent or own
    return Post(
        post_id=own,
        source=SOURCE,
        kind="comment" if is_reply else "post",
        channel=channel_name,
        created_utc=_created(required(status, "created_at")),
        title=html_to_text(status.get("spoiler_text") or "") or None,
        text=html_to_text(status.get("content") or ""),
        url=None,
        parent_id=parent,
        thread_id=thread if is_reply else own,
        author_key=pseudonymiser.author_key(_acct(status)),
        municipality_hint=hint,
    )
