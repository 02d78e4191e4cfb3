"""Does the reference answer with omnicrud's bytes? Samples both and lists the differences."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

GETS = (
    "/items/1",
    "/items/10",
    "/items/9999",
    "/items?name__startswith=Alpha&sort=-price&limit=50",
    "/posts?id__gt=100&limit=50",
    "/posts?id__gt=100&limit=50&expand=owner",
)
MASKED = ("id", "created_at", "updated_at")


def _call(port: int, method: str, path: str, body: Any = None, ctype: str = "") -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
    return {
        "status": status,
        "content_type": headers.get("Content-Type"),
        "etag": headers.get("ETag"),
        "location": headers.get("Location"),
        "body": raw.decode(errors="replace"),
    }


def _masked(sample: dict[str, Any]) -> dict[str, Any]:
    """Write results: compare shape, not the values a write necessarily changes."""
    try:
        body = json.loads(sample["body"])
    except ValueError:
        return sample
    if isinstance(body, dict):
        body = {k: "<masked>" if k in MASKED else v for k, v in body.items()}
        sample = {**sample, "body": json.dumps(body), "keys": list(body)}
    sample["etag"] = "<set>" if sample.get("etag") else None
    sample["location"] = "<set>" if sample.get("location") else None
    return sample


def samples(port: int) -> dict[str, dict[str, Any]]:
    found = {f"GET {path}": _call(port, "GET", path) for path in GETS}
    post = {"name": "Zulu verify", "description": None, "price": 1.5}
    found["POST /items"] = _masked(_call(port, "POST", "/items", post, "application/json"))
    found["PATCH /items/3"] = _masked(
        _call(port, "PATCH", "/items/3", {"price": 2.25}, "application/merge-patch+json")
    )
    return found


def differences(reference: dict[str, Any], omnicrud: dict[str, Any]) -> list[str]:
    found = []
    for request, ref in reference.items():
        got = omnicrud.get(request, {})
        for key in ("status", "content_type", "etag", "location", "body"):
            if ref.get(key) != got.get(key):
                found.append(
                    f"{request}: {key} differs: reference {str(ref.get(key))[:300]!r} "
                    f"vs omnicrud {str(got.get(key))[:300]!r}"
                )
    return found
