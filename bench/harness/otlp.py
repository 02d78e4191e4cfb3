"""A loopback OTLP/HTTP receiver for the omnicrud-trace config: 200 to every
``POST /v1/traces`` (the body read and dropped), ``GET /stats`` its counts as JSON.

Runs as its own process (``python -m harness.otlp PORT`` in bench/), so its CPU time is
apart from the harness's and can be read from /proc like the server's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from . import procs


class Receiver:
    """The receiver process; ``stats()`` adds its CPU time to the counts."""

    def __init__(self) -> None:
        self.port = procs.free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.otlp", str(self.port)],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                self.stats()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("the OTLP receiver did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, float]:
        """Cumulative: export requests, bytes received, the receiver's CPU µs."""
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as response:
            counts: dict[str, float] = json.loads(response.read())
        counts["otlp_cpu_us"] = procs.cpu_ticks([self.proc.pid]) * 1e6 / procs.TICK
        return counts

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    counts: ClassVar[dict[str, int]] = {"otlp_posts": 0, "otlp_bytes": 0}
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        with self.lock:
            self.counts["otlp_posts"] += 1
            self.counts["otlp_bytes"] += size
        status = 200 if self.path == "/v1/traces" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with self.lock:
            body = json.dumps(self.counts).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Handler).serve_forever()
