"""The dataset: N items, loaded through omnicrud's own API (bulk POST, 1000 per request).

Item ``i`` (its id, 1..N on a fresh database) is named ``<WORDS[i % 20]> item <i>``, so a
``name__startswith=<word>`` filter selects 1/20 of the rows, and lua/patch.lua can rebuild
a name from an id.
"""

from __future__ import annotations

import json
import random
import urllib.request

WORDS = (
    "Alpha",
    "Bravo",
    "Charlie",
    "Delta",
    "Echo",
    "Foxtrot",
    "Golf",
    "Hotel",
    "India",
    "Juliet",
    "Kilo",
    "Lima",
    "Mike",
    "November",
    "Oscar",
    "Papa",
    "Quebec",
    "Romeo",
    "Sierra",
    "Tango",
)
BATCH = 1000


def items(count: int, seed: int = 8) -> list[dict[str, object]]:
    rng = random.Random(seed)
    found: list[dict[str, object]] = []
    for i in range(1, count + 1):
        words = " ".join(rng.choice(WORDS).lower() for _ in range(rng.randint(3, 12)))
        found.append(
            {
                "name": f"{WORDS[i % len(WORDS)]} item {i}",
                "description": None if i % 10 == 7 else f"Item {i}: {words}.",
                "price": round(rng.uniform(1, 1000), 2),
            }
        )
    return found


USERS = 100
POSTS = 2000


def post_related(port: int) -> None:
    """100 users (Argon2 hashes: a few seconds) and 2,000 posts, owners spread evenly and
    out of order, so a page of 50 posts has 50 distinct owners... at most 100."""
    users = [
        {"username": f"user{i:03d}", "email": f"user{i:03d}@example.com", "password": "x" * 12}
        for i in range(1, USERS + 1)
    ]
    _post(port, "/users", users)
    rng = random.Random(9)
    posts = [
        {"title": f"Post {i}", "body": f"Body of post {i}.", "owner_id": rng.randint(1, USERS)}
        for i in range(1, POSTS + 1)
    ]
    for start in range(0, POSTS, BATCH):
        _post(port, "/posts", posts[start : start + BATCH])


def _post(port: int, path: str, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(rows).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        created: list[dict[str, object]] = json.loads(response.read())
    return created


def post_all(port: int, count: int) -> None:
    """POST the dataset in batches; checks that ids come out as 1..count."""
    rows = items(count)
    next_id = 1
    for start in range(0, count, BATCH):
        batch = rows[start : start + BATCH]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/items",
            data=json.dumps(batch).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            created = json.loads(response.read())
        ids = [row["id"] for row in created]
        if ids != list(range(next_id, next_id + len(batch))):
            raise RuntimeError(f"bulk POST gave ids {ids[:3]}..., expected {next_id}...")
        next_id += len(batch)
