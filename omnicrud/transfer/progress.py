"""Progress of a transfer: a rich bar per resource on a terminal (rows, rows/s, ETA), one
log line every few seconds otherwise, nothing for library callers that pass none."""

from __future__ import annotations

import sys
import time
from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class Reporter(Protocol):
    def start(self, resource: str, total: int | None, done: int) -> None:
        """A resource begins: ``total`` rows expected (None: unknown), ``done`` already there."""

    def advance(self, rows: int) -> None: ...

    def finish(self) -> None:
        """The current resource is done."""

    def close(self) -> None: ...


class Silent:
    def start(self, resource: str, total: int | None, done: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class Bars:
    """One rich progress bar per resource, on stderr."""

    def __init__(self, verb: str, stream: IO[str] | None = None) -> None:
        self.verb = verb
        self.progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            _Rate(),
            TimeRemainingColumn(),
            console=Console(file=stream or sys.stderr),
        )
        self.progress.start()
        self.task: TaskID | None = None

    def start(self, resource: str, total: int | None, done: int) -> None:
        self.task = self.progress.add_task(resource, total=total, completed=done)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, rows)

    def finish(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[-1]
            self.progress.update(self.task, total=task.completed)
        self.task = None

    def close(self) -> None:
        self.progress.stop()


class Lines:
    """A log line every ``every`` seconds while a resource is under way, and one at its end."""

    def __init__(self, verb: str, every: float = 5.0, stream: IO[str] | None = None) -> None:
        self.verb = verb
        self.every = every
        self.stream = stream or sys.stderr
        self.resource = ""
        self.total: int | None = None
        self.done = 0
        self.began = self.last = 0.0
        self.moved = 0

    def _line(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self.began, 1e-9)
        rate = self.moved / elapsed
        text = f"{self.verb} {self.resource}: {self.done:,}"
        if self.total is not None:
            share = 100 * self.done / self.total if self.total else 100.0
            text += f"/{self.total:,} rows ({share:.0f}%)"
        else:
            text += " rows"
        text += f", {rate:,.0f} rows/s"
        if final:
            text += f", done in {elapsed:.1f}s"
        elif self.total is not None and rate > 0:
            text += f", ETA {max(self.total - self.done, 0) / rate:.0f}s"
        print(text, file=self.stream, flush=True)

    def start(self, resource: str, total: int | None, done: int) -> None:
        self.resource, self.total, self.done, self.moved = resource, total, done, 0
        self.began = self.last = time.monotonic()

    def advance(self, rows: int) -> None:
        self.done += rows
        self.moved += rows
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(final=False)

    def finish(self) -> None:
        self._line(final=True)

    def close(self) -> None:
        pass


def reporter(verb: str, stream: IO[str] | None = None) -> Reporter:
    """Bars on a terminal, log lines otherwise."""
    out = stream or sys.stderr
    return Bars(verb, out) if out.isatty() else Lines(verb, stream=out)
