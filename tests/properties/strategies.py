"""Hypothesis strategies for probe rows and list queries over them.

Values are drawn from small pools most of the time (so ties, duplicates and hits are common)
and from wide ranges some of the time. Strings mix case, non-ASCII (incl. 4-byte UTF-8),
trailing spaces and every character LIKE or a regex could treat specially.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from omnicrud.core.resources import Resource

from .reference import Filter, Row, Sort

UTC = dt.UTC

# No character whose lowercase is ASCII (Kelvin sign, dotted capital I): icontains folding of
# non-ASCII may differ by backend (CONTRACT §4), ASCII folding may not.
ALPHABET = "aAbBzZ09 %_\\.*+?[](){}^$|,'\"\n\t~-éÉßñ中😀\ufffd\uff21"
ASCII_ALPHABET = "aAbBzZ09 %_\\.*+?[](){}^$|'\"~-"
STRING_POOL = [  # hypothesis favours early entries
    "aB",
    "Ab",
    "ab ",
    "AB",
    "a b",
    "a",
    "A",
    "ab",
    "a%",
    "a_b",
    "a\\b",
    "É",
    "ée",
    "%",
    "_",
    "\\",
    ".*",
    "[a]",
    "^a$",
    "",
    " ",
    "é",
    "中文",
    "😀",
    "\ufffd",
    "\uff21",
    "zZ",
    "~",
]
NEEDLE_POOL = [
    "b",
    "A",
    "aB",
    "B ",
    "%",
    "_",
    "\\",
    "A%",
    "A_B",
    ".",
    "*",
    "[A]",
    "^",
    "Z",
    " ",
    "",
]
FLOAT_POOL = [0.0, 1.0, -1.5, 2.5, 0.1, 1 / 3, 1e-300, 1e300, -7.25, 123456789.125]
DATETIME_POOL = [
    dt.datetime(2026, 1, 1, tzinfo=UTC),
    dt.datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    dt.datetime(1970, 1, 1, tzinfo=UTC),
    dt.datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),
    dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
    dt.datetime(1000, 1, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
]
INT64 = 2**63 - 1


def wire_datetime(value: dt.datetime) -> str:
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}."
        f"{v.microsecond // 1000:03d}Z"
    )


def _ms(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


strings = st.one_of(st.sampled_from(STRING_POOL), st.text(ALPHABET, max_size=8))
ascii_strings = st.text(ASCII_ALPHABET, max_size=4)
ints = st.one_of(st.integers(-3, 3), st.integers(-INT64, INT64))
floats = st.one_of(
    st.sampled_from(FLOAT_POOL),
    # -0.0 is left out: whether it survives a round trip is not part of the contract.
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x or 1.0),
)
datetimes = st.one_of(
    st.sampled_from(DATETIME_POOL),
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC)
    ).map(_ms),
)
offsets = st.sampled_from(
    [dt.timedelta(0), dt.timedelta(hours=5, minutes=30), dt.timedelta(hours=-8)]
)


@st.composite
def datetime_text(draw: st.DrawFn, value: st.SearchStrategy[dt.datetime] = datetimes) -> str:
    """A timestamp as a client may send it: ``Z`` or another UTC offset."""
    moment = draw(value)
    offset = draw(offsets)
    if offset == dt.timedelta(0) and draw(st.booleans()):
        return wire_datetime(moment)
    try:
        shifted = moment.astimezone(dt.timezone(offset))
    except OverflowError:  # year 1 or 9999 pushed out of range by the offset
        return wire_datetime(moment)
    return shifted.isoformat(timespec="milliseconds")


def nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


def probe_bodies(
    tag: str, min_size: int = 0, max_size: int = 20
) -> st.SearchStrategy[list[dict[str, Any]]]:
    body = st.fixed_dictionaries(
        {
            "tag": st.just(tag),
            "s": nullable(strings),
            "n": nullable(ints),
            "x": nullable(floats),
            "b": nullable(st.booleans()),
            "t": nullable(datetime_text()),
            "k": st.integers(0, 3),
        }
    )
    return st.lists(body, min_size=min_size, max_size=max_size)


def _text_of(kind: str, value: Any) -> str:
    if kind == "bool":
        return "true" if value else "false"
    if kind == "float":
        return repr(value)
    return str(value)


@st.composite
def field_value_text(draw: st.DrawFn, res: Resource, rows: Sequence[Row], field: str) -> str:
    """A query-string value for ``field``: often one the rows hold, sometimes a fresh one."""
    kind = res.by_name[field].kind
    present = [r[field] for r in rows if r[field] is not None]
    from_rows: bool = draw(st.booleans())
    if present and from_rows:
        value = draw(st.sampled_from(present))
        if kind == "datetime":
            return draw(datetime_text(st.just(dt.datetime.fromisoformat(value))))
        return _text_of(kind, value)
    fresh: st.SearchStrategy[str] = {
        "str": strings,
        "int": ints.map(str),
        "float": floats.map(repr),
        "bool": st.sampled_from(["true", "false"]),
        "datetime": datetime_text(),
    }[kind]
    return draw(fresh)


CASE_CHANGES: list[Callable[[str], str]] = [str.swapcase, str.upper, str.lower]


@st.composite
def needle(draw: st.DrawFn, rows: Sequence[Row], field: str, ascii_only: bool) -> str:
    """A piece of a stored value (or a fresh string) for contains/startswith/icontains, often
    with its case changed; ASCII only for icontains."""
    present = [r[field] for r in rows if r[field]]
    if present and draw(st.integers(0, 3)) > 0:
        value: str = draw(st.sampled_from(present))
        inner = len(value) > 1 and draw(st.booleans())
        start = draw(st.integers(1, len(value) - 1)) if inner else 0
        end = draw(st.integers(start + 1, len(value)))
        part = value[start:end]
    else:
        part = draw(st.sampled_from(NEEDLE_POOL) | (ascii_strings if ascii_only else strings))
    if ascii_only:
        part = "".join(c for c in part if c.isascii())
    if ascii_only or draw(st.integers(0, 2)) == 0:
        part = draw(st.sampled_from(CASE_CHANGES))(part)
    return part


@st.composite
def filters(draw: st.DrawFn, res: Resource, rows: Sequence[Row], op: str | None = None) -> Filter:
    """A random filter (on any field but ``tag``), or one with the given operator on ``s``."""
    # Weighted towards the string field, where backends differ most.
    others = [f for f in res.readable if res.by_name[f].kind != "str"]
    field = "s" if op else draw(st.sampled_from(["s"] * (len(others) // 2) + others))
    spec = res.by_name[field]
    ordered = ["eq", "ne", "gt", "gte", "lt", "lte", "in"]
    ops = {
        "str": [*ordered, "contains", "icontains", "startswith"],
        "int": ordered,
        "float": ordered,
        "datetime": ordered,
        "bool": ["eq", "ne"],
    }[spec.kind]
    if spec.nullable:
        ops = [*ops, "isnull"]
    op = op or draw(st.sampled_from(ops))
    if op == "isnull":
        return Filter(field, op, draw(st.sampled_from(["true", "false"])))
    if op in ("contains", "startswith", "icontains"):
        return Filter(field, op, draw(needle(rows, field, ascii_only=op == "icontains")))
    if op == "in":
        values = draw(st.lists(field_value_text(res, rows, field), min_size=1, max_size=4))
        values = [v for v in values if "," not in v] or ["0" if spec.kind != "str" else "a"]
        return Filter(field, op, ",".join(values))
    return Filter(field, op, draw(field_value_text(res, rows, field)))


@st.composite
def sorts(draw: st.DrawFn, res: Resource) -> list[Sort]:
    names = draw(st.lists(st.sampled_from(res.readable), max_size=3, unique=True))
    return [Sort(name, draw(st.booleans())) for name in names]


@st.composite
def field_lists(draw: st.DrawFn, res: Resource) -> list[str] | None:
    if draw(st.booleans()):
        return None
    return draw(st.lists(st.sampled_from(res.readable), min_size=1, max_size=4, unique=True))
