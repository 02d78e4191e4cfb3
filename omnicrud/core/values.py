"""Value conversions shared by every layer: wire (JSON) form <-> Python form."""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC


def utc_ms(value: dt.datetime) -> dt.datetime:
    """An aware datetime moved to UTC and cut to millisecond precision."""
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def now() -> dt.datetime:
    return utc_ms(dt.datetime.now(UTC))


def format_datetime(value: dt.datetime) -> str:
    """RFC 3339, UTC, milliseconds, ``Z``: the only datetime form the API ever sends.

    A naive value is taken to be UTC already (drivers that store UTC without an offset).
    ``isoformat`` (C) cuts microseconds to milliseconds and pads the year to four digits;
    it runs for every datetime of every row, so no f-string formatting here.
    """
    tz = value.tzinfo
    if tz is None:
        return value.isoformat(timespec="milliseconds") + "Z"
    if tz is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_datetime(text: str) -> dt.datetime:
    """An RFC 3339 timestamp with an offset; raises ValueError for naive or malformed ones."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a timezone offset is required")
    return utc_ms(value)
