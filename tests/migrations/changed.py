"""The bundled example after a change to ``items``: a nullable field (``note``), a field with
a default (``stock``), a new unique field (``sku``) and a new index (on ``price``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud.core.resources import Indexed, Resource, Unique
from omnicrud.example import Post, User


class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100), Indexed()]
    description: Annotated[str | None, Field(max_length=1000)] = None
    price: Annotated[float, Field(ge=0), Indexed()]
    note: Annotated[str | None, Field(max_length=200)] = None
    stock: int = 7
    sku: Annotated[str | None, Field(max_length=40), Unique()] = None


resources = [Resource("items", Item), Resource("users", User), Resource("posts", Post)]
