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


def check_headers(
    content_type: str | None, content_length: str | None, accepted: frozenset[str], max_bytes: int
) -> None:
    """415 for a media type not in ``accepted``, 413 for a declared length over the cap."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media not in accepted:
        raise Problem(
            "unsupported-media-type",
            f"send the body as {' or '.join(sorted(accepted))}",
        )
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise too_large(max_bytes)


def too_large(max_bytes: int) -> Problem:
    return Problem("payload-too-large", f"the body exceeds {max_bytes} bytes")


def parse_json(data: bytes) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise Problem("malformed-json", "the body is not valid JSON") from None
    if isinstance(value, dict | list) and _too_deep(value):
        raise Problem("malformed-json", f"the body is nested deeper than {MAX_DEPTH} levels")
    return value


async def read_json(request: Request, accepted: frozenset[str], max_bytes: int) -> Any:
    headers = request.headers
    check_headers(headers.get("content-type"), headers.get("content-length"), accepted, max_bytes)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return parse_json(b"".join(chunks))
