"""Reading request bodies: content type, size cap (counted on bytes received), JSON, depth."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .problems import Problem

JSON = frozenset({"application/json"})
MERGE_PATCH = frozenset({"application/merge-patch+json", "application/json"})
MAX_DEPTH = 32


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


async def read_json(request: Request, accepted: frozenset[str], max_bytes: int) -> Any:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in accepted:
        raise Problem(
            "unsupported-media-type",
            f"send the body as {' or '.join(sorted(accepted))}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Problem("payload-too-large", f"the body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise Problem("payload-too-large", f"the body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    try:
        value = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise Problem("malformed-json", "the body is not valid JSON") from None
    if isinstance(value, dict | list) and _too_deep(value):
        raise Problem("malformed-json", f"the body is nested deeper than {MAX_DEPTH} levels")
    return value
