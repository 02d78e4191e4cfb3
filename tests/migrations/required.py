"""The bundled example with a required field without a default added to ``items``: no
migration can fill it for the rows already there."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud.core.resources import Indexed, Resource
from omnicrud.example import Post, User


class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100), Indexed()]
    description: Annotated[str | None, Field(max_length=1000)] = None
    price: Annotated[float, Field(ge=0)]
    code: Annotated[str, Field(max_length=20)]


resources = [Resource("items", Item), Resource("users", User), Resource("posts", Post)]
