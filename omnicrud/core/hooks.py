"""The few calls other layers make into operations (``omnicrud.ops``); importing this
module costs nothing, and it lives in core so that backends need not import ops.

Backends call ``db_statement`` around each statement and ``db_error`` when they classify a
driver failure; the auth layer calls ``set_subject``. ``omnicrud.ops`` swaps the sinks in
when tracing or metrics are on; until then they are no-ops (one call, no allocation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

REQUEST_ID: ContextVar[str | None] = ContextVar("omnicrud_request_id", default=None)
"""The id of the request being served (set by the ops middleware)."""

SUBJECT_KEY = "omnicrud.subject"
"""Where ``set_subject`` leaves the subject in the ASGI scope's ``state``."""

StatementHook = Callable[[str, str, str], AbstractContextManager[object]]

_NULL: AbstractContextManager[object] = nullcontext()


def _no_span(system: str, operation: str, collection: str) -> AbstractContextManager[object]:
    return _NULL


def _no_count(kind: str) -> None:
    return None


db_statement: StatementHook = _no_span
"""``with hooks.db_statement("postgresql", "SELECT", "items"): ...`` around one statement:
a client span when tracing is on (``db.system.name``, ``db.operation.name``,
``db.collection.name``; never parameter values), a shared null context otherwise. Call it
as ``hooks.db_statement(...)`` (module attribute), so that the installed hook is used."""

db_error: Callable[[str], None] = _no_count
"""``hooks.db_error(kind)`` once per classified database failure (``unavailable``,
``lost``, ``unique``, ``fk``, ``other``): ``omnicrud_db_errors_total{kind}``."""


replica_read: Callable[[str], None] = _no_count
"""``hooks.replica_read(target)`` once per read routed with replicas configured: ``primary``
or the replica's masked URL (``omnicrud_replica_reads_total{target}``)."""


def set_replica_hook(hook: Callable[[str], None] | None) -> None:
    global replica_read
    replica_read = hook or _no_count


def set_statement_hook(hook: StatementHook | None) -> None:
    global db_statement
    db_statement = hook or _no_span


def set_error_hook(hook: Callable[[str], None] | None) -> None:
    global db_error
    db_error = hook or _no_count


@runtime_checkable
class PoolStats(Protocol):
    """Implemented by a Storage that can say how its pool is used (``/metrics`` polls it):
    a mapping such as ``{"idle": 3, "in_use": 1, "max": 32}``."""

    def pool_stats(self) -> Mapping[str, int]: ...


@runtime_checkable
class ReplicaLag(Protocol):
    """Implemented by a Storage that routes reads to replicas: each replica's lag in
    seconds by masked URL (``inf`` while it is down), as its last probe saw it."""

    def replica_lag(self) -> Mapping[str, float]: ...


def set_subject(scope_or_request: Any, subject: str | None) -> None:
    """Record who made the request (the auth layer calls it with a Request or an ASGI scope);
    the access log line carries it as ``subject``."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    state[SUBJECT_KEY] = subject


def subject_of(scope: Mapping[str, Any]) -> str | None:
    state = scope.get("state")
    if not state:
        return None
    subject: str | None = state.get(SUBJECT_KEY)
    return subject
