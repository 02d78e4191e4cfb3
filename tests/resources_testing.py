"""Extra resources used only by tests (served with ``create_app(settings, resources=[...])``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud.core.resources import Indexed, References, Resource


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


class Team(BaseModel):
    """Relations with renamed ends: ``members.team_id`` is ``squad`` here and ``roster`` on
    teams; ``members.mentor_id`` references members themselves (``mentor``/``mentees``)."""

    tag: Annotated[str, Field(min_length=1, max_length=40), Indexed()]
    name: Annotated[str | None, Field(max_length=60)] = None
    rank: int | None = None


class Member(BaseModel):
    tag: Annotated[str, Field(min_length=1, max_length=40), Indexed()]
    handle: Annotated[str | None, Field(max_length=60)] = None
    score: float | None = None
    team_id: Annotated[int | None, References("teams", name="squad", reverse="roster")] = None
    mentor_id: Annotated[int | None, References("members", reverse="mentees")] = None


teams = Resource("teams", Team)
members = Resource("members", Member)
relation_resources = [teams, members]
"""Nullable references, renamed relations and a self-reference (served on their own)."""
