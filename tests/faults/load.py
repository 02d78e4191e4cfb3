"""A mixed HTTP load on a running omnicrud, recording every answer and each acknowledged
create, so a test can check statuses during a fault and durability afterwards."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    method: str
    status: int  # 0: no HTTP answer at all (connection refused/reset, client timeout)
    retry_after: bool


@dataclass
class Load:
    base: str
    workers: int = 8
    answers: list[Answer] = field(default_factory=list)
    acknowledged: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, worker: int) -> None:
        tag = uuid.uuid4().hex[:8]
        with httpx.Client(base_url=self.base, timeout=15) as client:
            for i in itertools.count():
                if self._stop.is_set():
                    return
                name = f"load-{tag}-{worker}-{i}"
                kind = i % 4
                if kind in (0, 1):
                    self._call(client, "POST", "/items", {"name": name, "price": 1.0}, name)
                elif kind == 2:
                    self._call(client, "GET", "/items?limit=5&sort=-id", None, None)
                else:
                    known = next(iter(self.acknowledged), 1)
                    self._call(client, "GET", f"/items/{known}", None, None)

    def _call(
        self, client: httpx.Client, method: str, path: str, body: object, name: str | None
    ) -> None:
        began = time.monotonic()
        try:
            response = client.request(method, path, json=body)
        except httpx.HTTPError:
            self._record(Answer(began, time.monotonic(), method, 0, False))
            time.sleep(0.05)
            return
        self._record(
            Answer(
                began,
                time.monotonic(),
                method,
                response.status_code,
                "retry-after" in response.headers,
            )
        )
        if response.status_code == 201 and name is not None:
            with self._lock:
                self.acknowledged[response.json()["id"]] = name
        if response.status_code >= 500:
            time.sleep(0.02)

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.started and a.ended <= end]


def bad_answers(answers: list[Answer]) -> list[Answer]:
    """Answers that break the contract during a fault: anything but 2xx/404, or a 503 with
    a Retry-After."""
    return [
        a
        for a in answers
        if not (200 <= a.status < 300 or a.status == 404 or (a.status == 503 and a.retry_after))
    ]
