"""/docs and /redoc render every operation in a real browser with the network off.

Debian's headless ``chromium`` loads the pages from a real ``omnicrud serve`` with every host
but 127.0.0.1 unresolvable and a dead proxy for good measure; ``--dump-dom`` gives the DOM
after the scripts ran, and a net log shows which URLs the page asked for. Without chromium
the test fails (CI installs it: ``apt-get install -y chromium``); it never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.processes import Server, launch, wait_ready

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BROWSER_TIMEOUT = 90.0
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=AutofillServerCommunication,MediaRouter,OptimizationHints",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
    "--virtual-time-budget=15000",
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "no chromium on PATH: the offline /docs test needs a headless browser "
        "(Debian/Ubuntu: apt-get install -y chromium)",
        pytrace=False,
    )


class _Ids(HTMLParser):
    """Every ``id`` and ``data-section-id`` attribute in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "data-section-id") and value:
                self.ids.add(value)


def dom_ids(html: str) -> set[str]:
    parser = _Ids()
    parser.feed(html)
    return parser.ids


def page_requests(net_log: Path, origin: str) -> list[str]:
    """URLs the page at ``origin`` loaded or asked for: the main frame, then everything it
    initiated (the browser's own traffic, such as update checks, is left out)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] != start_job or "url" not in params:
            continue
        if params.get("request_type") == "main frame" or params.get("initiator") == origin:
            urls.append(params["url"])
    return urls


def render(url: str, workdir: Path) -> tuple[str, list[str]]:
    """The DOM of ``url`` after its scripts ran offline, and the URLs the page requested."""
    net_log = workdir / "net-log.json"
    profile = workdir / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    browser = subprocess.Popen(
        [
            chromium(),
            *OFFLINE_FLAGS,
            f"--user-data-dir={profile}",
            f"--log-net-log={net_log}",
            "--dump-dom",
            url,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its renderer and GPU processes go with it on timeout
    )
    try:
        out, err = browser.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.communicate()
        raise AssertionError(f"chromium did not finish {url} in {BROWSER_TIMEOUT}s") from None
    dom = out.decode(errors="replace")
    assert browser.returncode == 0, err.decode(errors="replace")[-2000:]
    parts = urlsplit(url)
    return dom, page_requests(net_log, f"{parts.scheme}://{parts.netloc}")


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = launch(database_url, tmp_path_factory.mktemp("serve"))
    try:
        wait_ready(started)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def spec(server: Server) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    return document


@pytest.fixture(scope="module")
def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(tag, operationId) of every documented operation, from the served document."""
    ops = [
        (op["tags"][0], op["operationId"])
        for path in spec["paths"].values()
        for op in path.values()
    ]
    assert {tag for tag, _ in ops} >= {"items", "users", "posts"}, ops
    return ops


def assert_offline(requests: list[str], asset: str) -> None:
    assert any(url.endswith(asset) for url in requests), (asset, requests)
    outside = [url for url in requests if urlsplit(url).hostname not in LOOPBACK]
    assert not outside, f"the page requested URLs outside loopback: {outside}"


def test_swagger_ui_lists_every_operation_offline(
    server: Server, spec: dict[str, Any], operations: list[tuple[str, str]], tmp_path: Path
) -> None:
    dom, requests = render(f"{server.url}/docs", tmp_path)
    ids = dom_ids(dom)
    missing = [op for op in operations if f"operations-{op[0]}-{op[1]}" not in ids]
    assert not missing, f"Swagger UI did not render {missing}; DOM starts: {dom[:1000]}"
    if spec.get("components", {}).get("securitySchemes"):
        assert "authorize" in dom, "the document declares security but Swagger UI has no Authorize"
    assert_offline(requests, "/swagger-ui-bundle.js")


def test_redoc_lists_every_operation_offline(
    server: Server, operations: list[tuple[str, str]], tmp_path: Path
) -> None:
    dom, requests = render(f"{server.url}/redoc", tmp_path)
    ids = dom_ids(dom)
    missing = [op for op in operations if f"operation/{op[1]}" not in ids]
    assert not missing, f"ReDoc did not render {missing}; DOM starts: {dom[:1000]}"
    assert_offline(requests, "/redoc.standalone.js")


def test_swagger_ui_oauth2_redirect_page_is_served(server: Server) -> None:
    response = httpx.get(f"{server.url}/docs/oauth2-redirect", timeout=10)
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()
