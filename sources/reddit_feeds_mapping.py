"""Entries of Reddit's public RSS/Atom feeds as Posts, pure: no client, no network.

Reddit's feeds are Atom. An entry's ``<id>`` is the item's fullname (``t3_...`` a submission,
``t1_...`` a comment), its ``<author><name>`` is ``/u/<name>``, its ``<link>`` the permalink and its
``<content type="html">`` the rendered body between ``<!-- SC_OFF -->`` and ``<!-- SC_ON -->``; a
submission's content goes on with "submitted by /u/<name>" and [link]/[comments] links, and a
comment's ``<title>`` is "/u/<name> on <thread title>". Both name the author, so neither is kept:
only the body between the markers is, and a comment has no title (as in API mode).

Conventions, so that the same item is the same row in either mode (``sources.reddit_mapping``):

- ``post_id`` is ``reddit:<fullname>`` (``reddit:t3_abc``, ``reddit:t1_xyz``);
- the author goes only through ``Pseudonymiser.author_key`` with the ``/u/`` taken off: the API
  mode hashes the bare account name, and the key normalises case and spacing the same way for both;
- ``channel`` is ``r/<subreddit>``, the subreddit as the permalink spells it;
- a comment's thread is the ``t3_`` id in its permalink (``/comments/<id>/<slug>/<comment>/``). The
  comment feed does not say which comment a reply answers, so its ``parent_id`` is the thread's post
  too: a reply is stored as if it answered the post. (API mode gives the real parent.)
- an item whose body is "[deleted]" or "[removed]", or whose author is "[deleted]" or absent, is
  recorded as deleted: no text, no author key (as praw's missing author is, in API mode).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sources.base import Post
from sources.pseudonym import Pseudonymiser
from sources.reddit_mapping import REMOVED_MARKERS, channel, item_id
from sources.rss_mapping import entry_time, html_to_text

_BODY = re.compile(r"<!--\s*SC_OFF\s*-->(.*?)<!--\s*SC_ON\s*-->", re.DOTALL)
# /r/<sub>/comments/<post>/<slug>/[<comment>/]
_PERMALINK = re.compile(r"/r/([A-Za-z0-9_]+)/comments/([a-z0-9]+)(?:/[^/?#]*/?([a-z0-9]+)?)?", re.IGNORECASE)
_USER_PREFIX = re.compile(r"^/?u/", re.IGNORECASE)


def feed_author(entry: Any) -> str | None:
    """The account name of an entry's author without ``/u/`` (never stored: only hashed)."""
    detail = entry.get("author_detail") or {}
    name = detail.get("name") or entry.get("author")
    if not name:
        return None
    return _USER_PREFIX.sub("", str(name).strip()) or None


def body_html(entry: Any, kind: str) -> str:
    """The rendered body of an entry: what lies between Reddit's SC_OFF and SC_ON markers. A
    submission without them is a link post (its content only names the author and links): no body."""
    content = entry["content"][0].get("value", "") if entry.get("content") else entry.get("summary", "")
    found = _BODY.search(content)
    if found:
        return found.group(1)
    return content if kind == "t1" else ""


def permalink_parts(link: str) -> tuple[str, str, str | None] | None:
    """(subreddit, post id, comment id or None) of a Reddit permalink, or None when it is not one."""
    found = _PERMALINK.search(link or "")
    return (found.group(1), found.group(2).lower(), found.group(3)) if found else None


def map_feed_entry(
    entry: Any, pseudonymiser: Pseudonymiser, fetched_at: datetime, hint: str | None = None
) -> Post | None:
    """A submission or comment entry as a Post; None for an entry that is neither (no ``t3_`` or
    ``t1_`` id, or no Reddit permalink)."""
    native = str(entry.get("id") or "")
    kind = native[:2]
    link = entry.get("link") or ""
    parts = permalink_parts(link)
    if kind not in ("t3", "t1") or not parts:
        return None
    subreddit, post_id, _ = parts
    text = html_to_text(body_html(entry, kind))
    author = feed_author(entry)
    deleted = text in REMOVED_MARKERS or author is None or author in REMOVED_MARKERS
    thread = item_id(f"t3_{post_id}")
    common = {
        "post_id": item_id(native),
        "source": "reddit",
        "channel": channel(subreddit),
        "created_utc": entry_time(entry) or fetched_at,
        "text": "" if deleted else text,
        "url": link.split("?")[0] or None,
        "thread_id": thread,
        "author_key": None if deleted else pseudonymiser.author_key(author),
        "municipality_hint": hint,
        "is_deleted": deleted,
    }
    if kind == "t3":
        return Post(kind="post", title=str(entry.get("title") or "").strip(), **common)
    return Post(kind="comment", parent_id=thread, **common)
