"""The bundled example served when ``OMNICRUD_RESOURCES`` is unset (CONTRACT §2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from omnicrud.core.resources import Indexed, Owner, References, Resource, Secret, Unique


class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100), Indexed()]
    description: Annotated[str | None, Field(max_length=1000)] = None
    price: Annotated[float, Field(ge=0)]


class User(BaseModel):
    username: Annotated[str, Field(min_length=3, max_length=50), Unique()]
    email: Annotated[EmailStr, Field(max_length=254), Unique()]
    full_name: Annotated[str | None, Field(max_length=200)] = None
    password: Annotated[str, Field(min_length=8, max_length=128), Secret()]
    is_active: bool = True


class Post(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200), Indexed()]
    body: str = ""
    owner_id: Annotated[int, References("users"), Owner(), Indexed()]


resources = [
    Resource("items", Item),
    Resource("users", User, accounts=True),
    Resource("posts", Post),
]
