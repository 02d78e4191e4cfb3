"""Extra resources used only by tests (served with ``create_app(settings, resources=[...])``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud.core.resources import Indexed, Resource


class Probe(BaseModel):
    """One nullable field of every kind, plus ``tag`` to keep test examples apart and a
    required int ``k`` that is full of ties."""

    tag: Annotated[str, Field(min_length=1, max_length=40), Indexed()]
    s: Annotated[str | None, Field(max_length=60)] = None
    n: int | None = None
    x: float | None = None
    b: bool | None = None
    t: dt.datetime | None = None
    k: int


probes = Resource("probes", Probe)

resources = [probes]
