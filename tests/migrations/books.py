"""A deployment's own resource, ``books``, in the versions a user goes through: ``v1``,
``v2`` (a nullable field added) and ``renamed`` (``blurb`` renamed to ``summary``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud.core.resources import Indexed, Resource


class BookV1(BaseModel):
    title: Annotated[str, Field(max_length=300), Indexed()]
    blurb: Annotated[str | None, Field(max_length=300)] = None
    pages: int = 0


class BookV2(BookV1):
    subtitle: Annotated[str | None, Field(max_length=120)] = None


class BookRenamed(BaseModel):
    title: Annotated[str, Field(max_length=300), Indexed()]
    summary: Annotated[str | None, Field(max_length=300)] = None
    pages: int = 0


v1 = [Resource("books", BookV1)]
v2 = [Resource("books", BookV2)]
renamed = [Resource("books", BookRenamed)]
