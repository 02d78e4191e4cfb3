"""Process plumbing shared by the cluster launchers: free ports, directories owned by the
database's OS user, processes started as that user in their own process group, bounded waits.

Every process is started with ``start_new_session=True``, so it leads its own process group:
stopping a node signals that group only (the postmaster and its backends, or mariadbd and its
SST scripts), never anything this session did not start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# What the cluster tests observed (printed in the terminal summary by conftest.py).
REPORT: list[str] = []


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all bound at once, so never the same twice)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def run_as(user: str) -> dict[str, Any]:
    """Popen keyword arguments that drop to ``user`` when this session runs as root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def owned_tempdir(prefix: str, user: str) -> Path:
    """A fresh directory under the system temp dir, owned by ``user`` when we are root
    (pytest's own tmp dirs are 0700 root, which the database user cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def chown_tree(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)
        for item in path.rglob("*"):
            shutil.chown(item, user, user)


def run(argv: Sequence[str], user: str, timeout: float = 60.0) -> str:
    """Run a short command as ``user``; its output, or RuntimeError with the output."""
    done = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **run_as(user),
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return str(done.stdout)


class NodeExited(RuntimeError):
    """A server process ended while we waited for it: ``wait_until`` stops at once."""


def spawn(argv: Sequence[str], user: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server as ``user`` in its own process group, output appended to ``log``
    (owned by ``user``, so the server may also open it itself)."""
    with log.open("ab") as sink:
        if os.geteuid() == 0:
            shutil.chown(log, user, user)
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **run_as(user),
        )


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group ``proc`` leads (only what we started)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group (children too: no orphan backend or rsync keeps a port)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def terminate(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """``sig`` to the leader, wait up to ``timeout``, then SIGKILL the group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    kill_group(proc)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll ``check`` (exceptions count as "not yet") until true; seconds taken, or
    TimeoutError naming ``what`` after ``timeout`` seconds. Never waits forever."""
    start = time.monotonic()
    last: BaseException | None = None
    while True:
        try:
            if check():
                return time.monotonic() - start
        except NodeExited:
            raise
        except Exception as exc:
            last = exc
        if time.monotonic() - start > timeout:
            detail = f" (last error: {type(last).__name__}: {last})" if last else ""
            raise TimeoutError(f"{what}: not reached within {timeout}s{detail}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
