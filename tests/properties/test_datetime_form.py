"""The one datetime form the API sends (CONTRACT: RFC 3339, UTC, milliseconds, ``Z``), for
every datetime a driver can hand back: naive UTC or aware at any offset."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from omnicrud.core.values import UTC, format_datetime

offsets = st.none() | st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)


def spelled_out(value: dt.datetime) -> str:
    v = value if value.tzinfo is None else value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:"
        f"{v.second:02d}.{v.microsecond // 1000:03d}Z"
    )


@given(
    st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31)),
    offsets,
)
def test_every_datetime_has_the_wire_form(value: dt.datetime, tz: dt.tzinfo | None) -> None:
    value = value.replace(tzinfo=tz)
    assert format_datetime(value) == spelled_out(value)


def test_milliseconds_are_cut_not_rounded_and_years_padded() -> None:
    assert format_datetime(dt.datetime(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
    late = dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert format_datetime(late) == "2026-12-31T23:59:59.999Z"
    east = dt.datetime(2026, 1, 1, 5, 30, 0, 1000, tzinfo=dt.timezone(dt.timedelta(hours=5.5)))
    assert format_datetime(east) == "2026-01-01T00:00:00.001Z"
