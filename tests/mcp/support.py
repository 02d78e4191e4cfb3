"""The SDK's own client over Streamable HTTP, one session per call of ``session``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent


@asynccontextmanager
async def session(url: str, bearer: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured output, checked to be the same JSON as the text content."""
    assert isinstance(result.structuredContent, dict), result
    (text,) = result.content
    assert isinstance(text, TextContent)
    assert json.loads(text.text) == result.structuredContent
    return result.structuredContent


def problem(result: CallToolResult, status: int) -> dict[str, Any]:
    assert result.isError, result
    body = structured(result)
    assert body["status"] == status, body
    assert body["type"].startswith("urn:omnicrud:problem:"), body
    return body
