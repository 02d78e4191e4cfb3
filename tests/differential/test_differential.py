"""The same fixed sequence of requests against the configured backend and a fresh SQLite app.

Normalized responses (status, content-type, location, etag, body) must be identical. Only what
the contract lets differ is masked: timestamps, request ids, the numeric value of ids (a failed
write may leave a gap, so ids become their rank in creation order per resource) and cursor
tokens (null vs non-null is kept).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.example import resources
from tests.conformance.support import TIMESTAMP, uid
from tests.differential.steps import Ref, Step, steps

REFERENCES = {r.name: {f.name: str(f.references) for f in r.references} for r in resources}
ROW_PATH = re.compile(r"^/([a-z_]+)/(\d+)$")
HEADERS = ("content-type", "location", "etag")


class _Env(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "0"


class Run:
    """Plays the steps on one app, remembering ids by name and ranking them per resource."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.ids: dict[str, int] = {}
        self.ranks: dict[tuple[str, int], int] = {}
        self.cursor: str | None = None

    def text(self, template: str) -> str:
        """A path or query value: ``{name}`` is a saved id, ``{cursor}`` the last next_cursor.

        A name whose create failed on this backend stands for 0, so the run goes on and the
        diff shows every difference, not only the first.
        """
        return template.format_map(_Env(self.ids, cursor=self.cursor))

    def body(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.ids.get(value.name, 0)
        if isinstance(value, dict):
            return {k: self.body(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(v) for v in value]
        return value

    def rank(self, resource: str, raw: int) -> str:
        """``items#3``: the fourth id this run created in items (``items#?123``: not created)."""
        known = self.ranks.get((resource, raw))
        return f"{resource}#{known}" if known is not None else f"{resource}#?{raw}"

    def learn(self, step: Step, resource: str, body: Any) -> None:
        rows = body if isinstance(body, list) else [body]
        for row in rows:
            count = sum(1 for r, _ in self.ranks if r == resource)
            self.ranks[(resource, row["id"])] = count
        assert len(step.save) in (0, len(rows)), (step, rows)
        for name, row in zip(step.save, rows, strict=False):
            self.ids[name] = row["id"]

    def mask(self, resource: str, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.mask(resource, v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(resource, v) for v in value]
        if key in ("created_at", "updated_at") and isinstance(value, str):
            return "<timestamp>" if TIMESTAMP.match(value) else value
        if key == "next_cursor" and isinstance(value, str):
            return "<cursor>"
        if key == "request_id" and isinstance(value, str):
            return "<request id>"  # new for every request (CONTRACT §10)
        if key == "id" and isinstance(value, int) and not isinstance(value, bool):
            return self.rank(resource, value)
        if key in REFERENCES.get(resource, {}) and isinstance(value, int):
            return self.rank(REFERENCES[resource][key], value)
        if isinstance(value, str) and (match := ROW_PATH.match(value)):
            return f"/{match[1]}/<{self.rank(match[1], int(match[2]))}>"
        return value

    def play(self, step: Step) -> dict[str, Any]:
        resource = step.path.split("/")[1].partition("?")[0]
        params = {k: self.text(v) for k, v in step.params.items()}
        kwargs: dict[str, Any] = {"headers": step.headers, "params": params}
        if step.raw is not None:
            kwargs["content"] = step.raw
        elif step.body is not None:
            kwargs["json"] = self.body(step.body)
        response = self.client.request(step.method, self.text(step.path), **kwargs)
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = {"<not json>": response.text}
        if response.status_code == 201:
            self.learn(step, resource, body)
        if isinstance(body, dict) and isinstance(body.get("next_cursor"), str):
            self.cursor = body["next_cursor"]
        headers = {h: self.mask(resource, response.headers.get(h)) for h in HEADERS}
        return {
            "request": step.describe(),
            "status": response.status_code,
            "headers": headers,
            "body": self.mask(resource, body),
        }


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'reference.db'}")
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def dump(results: list[dict[str, Any]]) -> list[str]:
    """One line per JSON line, each tagged with its step number (so a diff hunk says where)."""
    lines: list[str] = []
    for i, r in enumerate(results):
        lines.append(f"#{i:<3} {r['request']}\n")
        shown = {k: r[k] for k in ("status", "headers", "body")}
        text = json.dumps(shown, indent=2, ensure_ascii=False)
        lines += [f"#{i:<3}   {line}\n" for line in text.splitlines()]
    return lines


def test_same_responses_as_reference(client: TestClient, reference: TestClient) -> None:
    sequence = steps(uid())
    assert len(sequence) >= 50
    reference_run, configured_run = Run(reference), Run(client)
    expected = [reference_run.play(s) for s in sequence]
    got = [configured_run.play(s) for s in sequence]

    wrong = [
        f"#{i} {s.describe()}: expected {s.expect}, reference gave {r['status']}: {r['body']}"
        for i, (s, r) in enumerate(zip(sequence, expected, strict=True))
        if r["status"] != s.expect
    ]
    assert not wrong, "the reference app itself misbehaves:\n" + "\n".join(wrong)
    # Compared as JSON text: Python's == would take 2 for 2.0 and 1 for true.
    if dump(got) != dump(expected):
        diff = difflib.unified_diff(
            dump(expected), dump(got), "reference (sqlite)", "configured backend", n=6
        )
        differing = [
            f"  #{i} {r['request']}\n"
            for i, (r, g) in enumerate(zip(expected, got, strict=True))
            if dump([r]) != dump([g])
        ]
        summary = "".join(differing)
        pytest.fail(f"responses differ at:\n{summary}\n" + "".join(diff), pytrace=False)
