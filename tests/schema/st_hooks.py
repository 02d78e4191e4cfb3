"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by test_schemathesis.py).

A cursor is an opaque token signed by the server for one resource and sort: no string a
generator makes from the schema is a valid one (the pattern declares only its alphabet), so a
*positive* test case never sends a generated ``cursor``. Negative cases still do, and must be
refused (400).

Also works around a CPython 3.11 bug that schemathesis's two workers hit (see below).
"""

from __future__ import annotations

import ast
import threading
from typing import Any

import schemathesis

_parse = ast.parse
_parsing = threading.Lock()


def _serial_parse(*args: Any, **kwargs: Any) -> Any:
    with _parsing:
        return _parse(*args, **kwargs)


# CPython 3.11 keeps the AST converter's recursion depth per interpreter, not per thread: two
# workers describing hypothesis lambdas at once fail with "SystemError: AST constructor
# recursion depth mismatch". Parsing one at a time avoids it.
ast.parse = _serial_parse


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.query:
        case.query.pop("cursor", None)
