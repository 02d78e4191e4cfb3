"""A client generated from the served /openapi.json works against a real server.

openapi-python-client (pinned in the ``docs-test`` extra) generates a package from the
running ``omnicrud serve``'s document into a temporary directory; the test imports it and
drives create -> filtered list -> ``fields=`` list -> conditional read -> If-Match PATCH (200,
then 412 for the stale tag) -> delete through it. The document also passes
openapi-spec-validator. Collected only in the tox env ``docs`` (OMNICRUD_TEST_DOCS=1).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.conformance.support import uid
from tests.processes import Server, launch, wait_ready

GENERATOR = str(Path(sys.executable).with_name("openapi-python-client"))
PACKAGE = "omnicrud_generated_client"
RESOURCES = ("items", "users", "posts")


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = launch(database_url, tmp_path_factory.mktemp("serve"))
    try:
        wait_ready(started)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    spec: dict[str, Any] = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    return spec


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_document_declares_what_clients_need(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in RESOURCES:
        base = name.title()
        assert {f"{base}Row", f"{base}ListRow", f"{base}Page"} <= set(schemas), sorted(schemas)
        assert base not in schemas
        assert "required" not in schemas[f"{base}ListRow"]
        one = document["paths"][f"/{name}/{{id}}"]
        for method, header in [
            ("get", "If-None-Match"),
            ("head", "If-None-Match"),
            ("put", "If-Match"),
            ("patch", "If-Match"),
            ("delete", "If-Match"),
        ]:
            params = one[method]["parameters"]
            assert {"name": header, "in": "header"}.items() <= next(
                p for p in params if p["name"] == header
            ).items(), (method, params)
        assert list(one["patch"]["requestBody"]["content"]) == ["application/merge-patch+json"]


@pytest.fixture(scope="module")
def generated(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated package, imported (generation must produce no warning)."""
    workdir = tmp_path_factory.mktemp("client")
    spec = workdir / "openapi.json"
    spec.write_text(httpx.Response(200, json=document).text)
    config = workdir / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is used, not read
    done = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Warning" not in output, f"the generator left pieces out:\n{output}"
    sys.path.insert(0, str(workdir))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))


def op(package: ModuleType, resource: str, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{resource}.{name}_{resource}")


def test_every_operation_module_imports(generated: ModuleType) -> None:
    for resource in RESOURCES:
        for name in ("create", "list", "read", "replace", "patch", "delete"):
            assert callable(op(generated, resource, name).sync_detailed)


def test_crud_through_the_generated_client(generated: ModuleType, server: Server) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    unset = importlib.import_module(f"{PACKAGE}.types").UNSET
    client = generated.Client(base_url=server.url, raise_on_unexpected_status=True)
    p = uid()

    create = op(generated, "items", "create")
    made = create.sync_detailed(
        client=client, body=models.ItemsCreate(name=f"{p}-a", price=2.5, description="first")
    )
    assert made.status_code == 201, made.content
    row = made.parsed
    assert isinstance(row, models.ItemsRow), row
    assert (row.name, row.price, row.description) == (f"{p}-a", 2.5, "first")
    tag = made.headers["etag"]
    other = create.sync(client=client, body=models.ItemsCreate(name=f"{p}-b", price=7.0))
    assert isinstance(other, models.ItemsRow)

    listing = op(generated, "items", "list")
    page = listing.sync(client=client, name_startswith=p, price_gte=5.0, count=True)
    assert isinstance(page, models.ItemsPage), page
    assert [r.id for r in page.items] == [other.id]
    assert page.total == 1

    page = listing.sync(client=client, name_startswith=p, fields="id,name", sort="-name")
    assert isinstance(page, models.ItemsPage), page
    assert [(r.id, r.name) for r in page.items] == [(other.id, f"{p}-b"), (row.id, f"{p}-a")]
    assert all(r.price is unset and r.created_at is unset for r in page.items)

    read = op(generated, "items", "read")
    assert read.sync_detailed(row.id, client=client, if_none_match=tag).status_code == 304

    patch = op(generated, "items", "patch")
    changes = models.ItemsPatch(price=3.0, description=None)  # null removes: merge patch
    patched = patch.sync_detailed(row.id, client=client, body=changes, if_match=tag)
    assert patched.status_code == 200, patched.content
    assert isinstance(patched.parsed, models.ItemsRow)
    assert (patched.parsed.price, patched.parsed.description) == (3.0, None)
    assert patched.parsed.name == f"{p}-a"
    fresh = patched.headers["etag"]
    assert fresh != tag

    stale = patch.sync_detailed(row.id, client=client, body=changes, if_match=tag)
    assert stale.status_code == 412, stale.content
    assert isinstance(stale.parsed, models.Problem), stale.parsed
    assert stale.parsed.status == 412

    delete = op(generated, "items", "delete")
    assert delete.sync_detailed(row.id, client=client, if_match=tag).status_code == 412
    assert delete.sync_detailed(row.id, client=client, if_match=fresh).status_code == 204
    gone = read.sync_detailed(row.id, client=client)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, models.Problem)
    assert delete.sync_detailed(other.id, client=client).status_code == 204
