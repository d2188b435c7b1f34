"""Writes the Reddit cassettes used by tests/test_reddit.py.

This machine has no network, so these cassettes are not recordings of reddit.com: they are
written by this project in the exact shape of Reddit's API (the URLs praw requests, the JSON it
returns, rate-limit headers), with the access token scrubbed. To record real ones on a machine with
internet, run the tests with ``--record-mode=once`` and real credentials, and check that the token
is scrubbed. Run this file to rebuild them: ``python tests/data/cassettes/build_reddit_cassettes.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

HERE = Path(__file__).parent
OAUTH = "https://oauth.reddit.com"
T0 = 1_795_600_000  # 2026-11-25 09:46:40 UTC
HOUR = 3600
NEW = f"{OAUTH}/r/Utrecht/new?limit=100&raw_json=1"
SEARCH = (
    f"{OAUTH}/r/all/search/?q=gemeente+Utrecht&restrict_sr=False&sort=new&syntax=lucene"
    "&t=month&limit=100&raw_json=1"
)


def comments_url(post_id: str) -> str:
    return f"{OAUTH}/comments/{post_id}/?limit=2048&sort=confidence&raw_json=1"


def submission(pid: str, sub: str, author: str, title: str, text: str, created: int) -> dict:
    return {
        "kind": "t3",
        "data": {
            "id": pid,
            "name": f"t3_{pid}",
            "subreddit": sub,
            "subreddit_name_prefixed": f"r/{sub}",
            "author": author,
            "title": title,
            "selftext": text,
            "created_utc": float(created),
            "permalink": f"/r/{sub}/comments/{pid}/x/",
            "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/x/",
            "is_self": True,
            "num_comments": 0,
            "score": 5,
        },
    }


def comment(
    cid: str,
    link: str,
    parent: str,
    sub: str,
    author: str,
    body: str,
    created: int,
    replies: list | None = None,
) -> dict:
    return {
        "kind": "t1",
        "data": {
            "id": cid,
            "name": f"t1_{cid}",
            "link_id": f"t3_{link}",
            "parent_id": parent,
            "subreddit": sub,
            "author": author,
            "body": body,
            "created_utc": float(created),
            "score": 1,
            "permalink": f"/r/{sub}/comments/{link}/x/{cid}/",
            "replies": {"kind": "Listing", "data": {"children": replies, "after": None}} if replies else "",
        },
    }


def listing(children: list) -> dict:
    return {
        "kind": "Listing",
        "data": {"children": children, "after": None, "before": None, "dist": len(children)},
    }


def response(body: object, status: int = 200, message: str = "OK") -> dict:
    return {
        "body": {"string": json.dumps(body, ensure_ascii=False)},
        "headers": {
            "Content-Type": ["application/json; charset=UTF-8"],
            "x-ratelimit-remaining": ["590.0"],
            "x-ratelimit-used": ["10"],
            "x-ratelimit-reset": ["300"],
        },
        "status": {"code": status, "message": message},
    }


def interaction(method: str, uri: str, resp: dict, body: str | None = None) -> dict:
    return {"request": {"body": body, "headers": {}, "method": method, "uri": uri}, "response": resp}


TOKEN = interaction(
    "POST",
    "https://www.reddit.com/api/v1/access_token",
    response({"access_token": "SCRUBBED", "token_type": "bearer", "expires_in": 86400, "scope": "*"}),
    body="grant_type=client_credentials",
)

U1 = submission(
    "u1aaaa",
    "Utrecht",
    "testbewoner_een",
    "Blauwe zone in Lombok wordt betaald parkeren",
    "Vanaf januari betaald parkeren in heel Lombok. Ik snap het wel, maar een vergunning van 200 "
    "euro per jaar voor een tweede auto is echt veel.",
    T0 - 30 * HOUR,
)
U2 = submission(
    "u2bbbb",
    "Utrecht",
    "testbewoner_twee",
    "Speeltuin Kanaleneiland eindelijk open",
    "Na een jaar hekken is de speeltuin aan de Marshalllaan weer open. De kinderen zijn er blij mee 😍",
    T0 - 2 * HOUR,
)
S1 = submission(
    "s1cccc",
    "thenetherlands",
    "testbewoner_drie",
    "Raad gemeente Utrecht stemt over azc Science Park",
    "Dinsdag neemt de gemeenteraad een besluit. Insprekers kunnen zich tot maandag melden.",
    T0 - 5 * HOUR,
)
U1_COMMENTS = [
    comment(
        "c1",
        "u1aaaa",
        "t3_u1aaaa",
        "Utrecht",
        "testbewoner_vier",
        "Ze luisteren toch niet, het was allang besloten.",
        T0 - 29 * HOUR,
        replies=[
            comment(
                "c2",
                "u1aaaa",
                "t1_c1",
                "Utrecht",
                "testbewoner_een",
                "Er is wel een inspraakavond op de 12e, heb ik gelezen.",
                T0 - 28 * HOUR,
            )
        ],
    ),
    comment("c3", "u1aaaa", "t3_u1aaaa", "Utrecht", "[deleted]", "[deleted]", T0 - 27 * HOUR),
    comment("c4", "u1aaaa", "t3_u1aaaa", "Utrecht", "[deleted]", "[removed]", T0 - 26 * HOUR),
]
U2_COMMENTS = [
    comment(
        "c5",
        "u2bbbb",
        "t3_u2bbbb",
        "Utrecht",
        "testbewoner_vijf",
        "Top! Eindelijk weer een plek om te spelen in de buurt.",
        T0 - HOUR,
    )
]
S1_COMMENTS = [
    comment(
        "c6",
        "s1cccc",
        "t3_s1cccc",
        "thenetherlands",
        "testbewoner_zes",
        "Ik ga inspreken, wie gaat er mee?",
        T0 - 4 * HOUR,
    )
]

NEW_OK = interaction("GET", NEW, response(listing([U2, U1])))
THREADS = [
    interaction("GET", comments_url("u2bbbb"), response([listing([U2]), listing(U2_COMMENTS)])),
    interaction("GET", comments_url("u1aaaa"), response([listing([U1]), listing(U1_COMMENTS)])),
]
SEARCH_OK = interaction("GET", SEARCH, response(listing([S1, U1])))
S1_THREAD = interaction("GET", comments_url("s1cccc"), response([listing([S1]), listing(S1_COMMENTS)]))

CASSETTES = {
    # the happy path: a subreddit listing, its threads, a site-wide search and its new thread
    "reddit_listing_comments_search.yaml": [TOKEN, NEW_OK, *THREADS, SEARCH_OK, S1_THREAD],
    # rate limited once, then the same request succeeds
    "reddit_429_then_success.yaml": [
        TOKEN,
        interaction(
            "GET", NEW, response({"message": "Too Many Requests", "error": 429}, 429, "Too Many Requests")
        ),
        NEW_OK,
        *THREADS,
    ],
    # the server keeps failing: the source fails for this run
    "reddit_500.yaml": [
        TOKEN,
        interaction("GET", NEW, response({"message": "Internal Server Error"}, 500, "Internal Server Error")),
    ],
}


def main() -> None:
    for name, interactions in CASSETTES.items():
        text = yaml.safe_dump(
            {"interactions": interactions, "version": 1}, allow_unicode=True, sort_keys=False
        )
        (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
