"""The MCP endpoint driven by the SDK's own client against a real ``omnicrud serve``, on
whichever database ``DATABASE_URL`` names (no test knows which)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.processes import Server, cli_env

from .conftest import token
from .support import problem, session, structured

OMNICRUD = Path(sys.executable).with_name("omnicrud")
RESOURCES = ("items", "users", "posts")
VERBS = ("list", "get", "create", "update", "delete")


def test_initialize_and_tools(open_server: Server) -> None:
    async def run() -> None:
        async with session(open_server.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            expected = {f"{v}_{r}" for v in VERBS for r in RESOURCES} | {"describe_resources"}
            assert set(tools) == expected
            listing = tools["list_items"].inputSchema["properties"]
            filters = listing["filter"]["properties"]
            assert filters["price__gte"] == {"type": "number", "description": "price gte"}
            assert filters["description__isnull"]["type"] == "boolean"
            assert "name__icontains" in filters
            assert "price__icontains" not in filters
            assert {"sort", "fields", "cursor", "limit", "count"} <= set(listing)
            create = tools["create_items"].inputSchema
            assert set(create["required"]) == {"name", "price"}
            assert "password" not in tools["list_users"].inputSchema["properties"]["filter"]
            assert tools["update_items"].inputSchema["required"] == ["id", "patch"]
            assert tools["delete_items"].annotations is not None
            assert tools["delete_items"].annotations.destructiveHint is True
            assert tools["update_items"].annotations.destructiveHint is True  # type: ignore[union-attr]
            assert tools["get_items"].annotations.readOnlyHint is True  # type: ignore[union-attr]
            described = structured(await client.call_tool("describe_resources", {}))
            posts = next(r for r in described["resources"] if r["name"] == "posts")
            assert posts["relations"] == [{"name": "owner", "field": "owner_id", "to": "users"}]

    asyncio.run(run())


def test_create_list_update_delete(open_server: Server) -> None:
    name = f"mcp-{uuid.uuid4().hex[:12]}"

    async def run() -> None:
        async with session(open_server.url) as client:
            row = structured(await client.call_tool("create_items", {"name": name, "price": 2.5}))
            assert row["name"] == name
            assert row["price"] == 2.5
            assert row["etag"]
            async with httpx.AsyncClient() as http:
                rest = await http.get(f"{open_server.url}/items/{row['id']}")
            assert rest.headers["etag"] == row["etag"]
            assert {**rest.json(), "etag": rest.headers["etag"]} == row

            page = structured(
                await client.call_tool(
                    "list_items",
                    {"filter": {"name": name, "price__gte": 2}, "count": True, "fields": "id,name"},
                )
            )
            assert page == {
                "items": [{"id": row["id"], "name": name}],
                "next_cursor": None,
                "total": 1,
            }
            page = structured(
                await client.call_tool("list_items", {"filter": {"name__in": [name, "x"]}})
            )
            assert [r["id"] for r in page["items"]] == [row["id"]]

            changed = structured(
                await client.call_tool(
                    "update_items",
                    {"id": row["id"], "patch": {"price": 3}, "if_match": row["etag"]},
                )
            )
            assert changed["price"] == 3
            assert changed["etag"] != row["etag"]
            stale = await client.call_tool(
                "update_items", {"id": row["id"], "patch": {"price": 4}, "if_match": row["etag"]}
            )
            assert problem(stale, 412)["type"].endswith(":precondition-failed")
            assert structured(await client.call_tool("get_items", {"id": row["id"]}))["price"] == 3

            bad = await client.call_tool("list_items", {"filter": {"price__gte": "cheap"}})
            assert problem(bad, 400)["param"] == "price__gte"
            invalid = await client.call_tool("create_items", {"name": "", "price": -1})
            assert problem(invalid, 422)["errors"]
            stale_delete = await client.call_tool(
                "delete_items", {"id": row["id"], "if_match": row["etag"]}
            )
            problem(stale_delete, 412)
            deleted = await client.call_tool(
                "delete_items", {"id": row["id"], "if_match": changed["etag"]}
            )
            assert structured(deleted) == {"id": row["id"], "deleted": True}
            problem(await client.call_tool("get_items", {"id": row["id"]}), 404)

    asyncio.run(run())


def test_read_only_token_sees_no_write_tools(auth_server: Server) -> None:
    async def run() -> None:
        async with session(auth_server.url, token("items:read")) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"list_items", "get_items", "describe_resources"}
            refused = await client.call_tool("create_items", {"name": "nope", "price": 1})
            body = problem(refused, 403)
            assert body["type"].endswith(":forbidden")
            assert "items:write" in body["detail"]
            other = await client.call_tool("list_users", {})
            problem(other, 403)
            page = structured(await client.call_tool("list_items", {"limit": 1}))
            assert set(page) == {"items", "next_cursor", "total"}
            described = structured(await client.call_tool("describe_resources", {}))
            assert [r["name"] for r in described["resources"]] == ["items"]

        async with session(auth_server.url, token("items:read items:write")) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"create_items", "update_items", "delete_items"} <= names
            assert "list_users" not in names

    asyncio.run(run())


def test_invalid_credentials_are_401_before_the_transport(auth_server: Server) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in (
        {},  # no credentials, and anonymous callers may use no tool
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {token('items:read')}x"},
    ):
        sent = {**accept, **headers}
        answer = httpx.post(f"{auth_server.url}/mcp", json=initialize, headers=sent)
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["type"].endswith(":unauthorized")
    good = {"Authorization": f"Bearer {token('items:read')}", **accept}
    assert httpx.post(f"{auth_server.url}/mcp", json=initialize, headers=good).status_code == 200


def test_mcp_sdk_is_imported_only_when_the_endpoint_is_on() -> None:
    code = (
        "import sys\n"
        "from omnicrud.api.app import create_app\n"
        "from omnicrud.config import Settings\n"
        "create_app(Settings(database_url='sqlite:///:memory:'))\n"
        "assert 'mcp' not in sys.modules, 'mcp imported with OMNICRUD_MCP off'\n"
        "app = create_app(Settings(database_url='sqlite:///:memory:', mcp=True))\n"
        "assert 'mcp' in sys.modules\n"
        "assert any(getattr(r, 'path', None) == '/mcp' for r in app.routes)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_read_only_api_key_sees_no_write_tools(key_server: Server, database_url: str) -> None:
    name = f"mcp-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        [str(OMNICRUD), "keys", "create", "--name", name, "--scopes", "items:read"],
        capture_output=True,
        text=True,
        env=cli_env(database_url, {"OMNICRUD_API_KEYS": "true"}),
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()

    async def run() -> None:
        async with session(key_server.url, key) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"list_items", "get_items", "describe_resources"}
            problem(await client.call_tool("create_items", {"name": "nope", "price": 1}), 403)

    asyncio.run(run())


def test_list_expands_relations_as_the_rest_route(open_server: Server) -> None:
    """``expand`` on a list tool: the same page as ``GET /posts?expand=owner``."""
    name = f"mcp-{uuid.uuid4().hex[:12]}"

    async def run() -> None:
        async with httpx.AsyncClient(base_url=open_server.url) as http:
            account = {"username": name, "email": "m@example.com", "password": "pw-12345678"}
            user = await http.post("/users", json=account)
            assert user.status_code == 201, user.text
            post = {"title": name, "body": "b", "owner_id": user.json()["id"]}
            assert (await http.post("/posts", json=post)).status_code == 201
            rest = (await http.get(f"/posts?title={name}&expand=owner")).json()
        async with session(open_server.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert "owner" in tools["list_posts"].inputSchema["properties"]["expand"]["description"]
            args = {"filter": {"title": name}, "expand": "owner"}
            page = structured(await client.call_tool("list_posts", args))
            assert page == rest
            assert page["items"][0]["owner"]["username"] == name
            bad = await client.call_tool("list_posts", {"expand": "nope"})
            assert problem(bad, 400)["param"] == "expand"

    asyncio.run(run())
