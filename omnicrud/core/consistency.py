"""Read-your-writes across processes (CONTRACT §9), without touching Storage signatures.

Each HTTP request runs inside a ``Session`` (set by the API around its routes, held in a
contextvar): ``read_only`` says whether reads may go to a replica (GET/HEAD), ``floor`` is
the verified position a client sent back in ``Omnicrud-Consistency``, and a backend records
the primary's position after a successful write with ``wrote``. Positions are backend
strings (a PostgreSQL LSN, a MariaDB GTID); tokens are those strings signed, so a client
cannot name a position the server would wait for in vain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = "Omnicrud-Consistency"
_TAG = 12


@dataclass(slots=True)
class Session:
    read_only: bool
    floor: str | None = None
    written: str | None = None


_session: ContextVar[Session | None] = ContextVar("omnicrud_consistency", default=None)


def current() -> Session | None:
    """The request's session; None outside a request (CLI, start-up): primary only."""
    return _session.get()


def begin(session: Session) -> object:
    return _session.set(session)


def end(token: object) -> None:
    _session.reset(token)  # type: ignore[arg-type]


def wrote(position: str | None) -> None:
    """Record the primary's position after a committed write of this request."""
    session = _session.get()
    if session is not None and position:
        session.written = position


def sign(key: bytes, position: str) -> str:
    body = position.encode()
    tag = hmac.new(key, body, hashlib.sha256).digest()[:_TAG]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def verify(key: bytes, token: str) -> str | None:
    """The position a token stands for; None when it is forged, damaged or too long."""
    if len(token) > 512:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    body, tag = raw[:-_TAG], raw[-_TAG:]
    expected = hmac.new(key, body, hashlib.sha256).digest()[:_TAG]
    if not body or not hmac.compare_digest(tag, expected):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None
