"""Make the session's database unreachable for a while, the same way a test sees it.

Network databases are reached through a TCP proxy that can cut every connection and refuse
new ones; SQLite (no network) is made to time out: another connection holds the write lock
past the app's query timeout. Mechanics are picked by URL scheme, like provisioning.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

from omnicrud.core.registry import split_scheme


class Proxy:
    """A TCP forwarder on 127.0.0.1 in its own thread; ``cut()`` drops and refuses."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._call(self._listen())

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def _cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())  # same port again

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)


DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mongodb": 27017,
}


# MongoDB drivers would otherwise discover the replica set member's real address.
PROXY_QUERY = {"mongodb": "directConnection=true"}


@contextlib.contextmanager
def _network(url: str) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS[split_scheme(url)[0]]
    proxy = Proxy(parts.hostname or "127.0.0.1", port)
    userinfo = parts.netloc.rpartition("@")
    host = f"127.0.0.1:{proxy.port}"
    extra = PROXY_QUERY.get(split_scheme(url)[0], "")
    query = "&".join(q for q in (parts.query, extra) if q)
    netloc = f"{userinfo[0]}@{host}" if userinfo[1] else host
    proxied = urlunsplit(parts._replace(netloc=netloc, query=query))
    try:
        yield proxied, proxy.cut, proxy.restore
    finally:
        proxy.close()


@contextlib.contextmanager
def _sqlite(url: str) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    path = url.partition("://")[2][1:].partition("?")[0]
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def lock() -> None:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held until restore

    def unlock() -> None:
        holder.execute("ROLLBACK")

    try:
        yield url, lock, unlock
    finally:
        holder.close()


OUTAGES = {
    "sqlite": _sqlite,
    "postgresql": _network,
    "postgres": _network,
    "mysql": _network,
    "mariadb": _network,
    "mongodb": _network,
}


def outage(
    url: str,
) -> contextlib.AbstractContextManager[tuple[str, Callable[[], None], Callable[[], None]]]:
    """``(url_to_give_the_app, break_it, mend_it)`` for the session's database."""
    return OUTAGES[split_scheme(url)[0]](url)
