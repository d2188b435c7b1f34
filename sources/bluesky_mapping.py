"""Bluesky post views as Posts, pure: no client, no network.

``map_post`` turns one ``app.bsky.feed.defs#postView`` (the JSON ``app.bsky.feed.searchPosts``
returns, camelCase keys) into a Post. The author's DID is the only author field that is read, and
only to be hashed; handle and display name are never looked at.

An AT-URI (``at://did:plc:…/app.bsky.feed.post/<rkey>``) names its author's DID, so it cannot be
stored as it is: ids (and thread and parent ids) are ``bluesky:`` plus the keyed hash of the URI,
stable for as long as the author hash key is, and the same for a post whether it is seen itself or
as the root or parent of a reply. For the same reason a post keeps no ``url``: every bsky.app link
names the author's DID or handle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sources.base import Post
from sources.pseudonym import Pseudonymiser

SOURCE = "bluesky"


class MappingError(ValueError):
    """A post view lacks a field that every post view has; the response is not usable."""


def channel(term: str) -> str:
    """The channel of the posts a search term found: the configured term, which names nobody."""
    return f"bsky:search:{term}"


def item_id(uri: str, pseudonymiser: Pseudonymiser) -> str:
    """The stored id of the post at an AT-URI: the URI names its author's DID, so it is hashed."""
    if not uri or not uri.strip():
        raise MappingError("a post view without an AT-URI")
    return f"{SOURCE}:{pseudonymiser.item_key(uri)}"


# A post's address in the Bluesky app, with its author's DID (a handle would need resolving first).
_DID = r"did:[a-z]+:[\w.:%-]+"
_APP_URL = re.compile(rf"^https://bsky\.app/profile/({_DID})/post/(\w+)/?$")
# An account by its DID, alone or as its profile address in the app.
_ACCOUNT = re.compile(rf"^(?:https://bsky\.app/profile/)?({_DID})/?$")


def stored_id(reference: str, pseudonymiser: Pseudonymiser) -> str | None:
    """The stored id of a post given by its AT-URI or its bsky.app address with the DID (an
    erasure request), or None for another platform's reference."""
    reference = reference.strip()
    if app := _APP_URL.match(reference):
        reference = f"at://{app[1]}/app.bsky.feed.post/{app[2]}"
    return item_id(reference, pseudonymiser) if reference.startswith("at://") else None


def author_name(reference: str) -> str | None:
    """The DID an author's key is the hash of, given as it is or by the account's bsky.app address
    with the DID (an erasure request); None for a handle, which only the network can turn into a
    DID, or another platform's account."""
    account = _ACCOUNT.match(reference.strip())
    return account[1] if account else None


def parse_datetime(value: str) -> datetime:
    """An atproto datetime (RFC 3339, ``Z`` or an offset) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:  # not valid atproto, but seen in the wild: read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def sort_at(view: Mapping[str, Any]) -> datetime:
    """The time search sorts and filters by (``since``): the earlier of ``createdAt`` and
    ``indexedAt``, so a post dated in the future cannot push a watermark ahead of time."""
    created = parse_datetime(_record(view)["createdAt"])
    indexed = view.get("indexedAt")
    return min(created, parse_datetime(indexed)) if indexed else created


def _record(view: Mapping[str, Any]) -> Mapping[str, Any]:
    record = view.get("record")
    if not isinstance(record, Mapping) or not isinstance(record.get("createdAt"), str):
        raise MappingError("a post view without a post record")
    return record


def map_post(
    view: Mapping[str, Any], pseudonymiser: Pseudonymiser, term: str, hint: str | None = None
) -> Post:
    """A post view as a Post: a reply is a comment of its thread (the root post), with its parent.

    Search never returns a deleted post (the AppView drops the record and search hydrates from it),
    so every view is a live post: none is stored with ``is_deleted``.
    """
    uri = view.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise MappingError("a post view without an AT-URI")
    record = _record(view)
    author = view.get("author")
    did = author.get("did") if isinstance(author, Mapping) else None
    if not isinstance(did, str) or not did.startswith("did:"):
        raise MappingError("a post view without an author DID")
    reply = record.get("reply") if isinstance(record.get("reply"), Mapping) else None
    root = _ref_uri(reply, "root")
    parent = _ref_uri(reply, "parent")
    post_id = item_id(uri, pseudonymiser)
    text = record.get("text")
    return Post(
        post_id=post_id,
        source=SOURCE,
        kind="comment" if reply else "post",
        channel=channel(term),
        created_utc=parse_datetime(record["createdAt"]),
        text=text if isinstance(text, str) else "",
        url=None,
        parent_id=item_id(parent, pseudonymiser) if parent else None,
        thread_id=item_id(root, pseudonymiser) if root else post_id,
        author_key=pseudonymiser.author_key(did),
        municipality_hint=hint,
    )


def _ref_uri(reply: Mapping[str, Any] | None, which: str) -> str | None:
    ref = reply.get(which) if reply else None
    uri = ref.get("uri") if isinstance(ref, Mapping) else None
    return uri if isinstance(uri, str) and uri else None
