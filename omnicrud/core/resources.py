"""A resource: a pydantic v2 model plus markers, turned into the spec every layer reads.

Markers go in ``Annotated`` metadata::

    class User(BaseModel):
        username: Annotated[str, Field(min_length=3, max_length=50), Unique()]
        password: Annotated[str, Field(min_length=8), Secret()]
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    TypeAdapter,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .errors import ConfigError
from .values import utc_ms

Kind = Literal["int", "float", "str", "bool", "datetime"]

SERVER_FIELDS = ("id", "created_at", "updated_at")
VERSION = "_version"
"""Internal column/key holding the row version behind the ETag; never part of the API."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Unique:
    """The field's value is unique across the resource (409 naming the field otherwise)."""


@dataclass(frozen=True)
class Indexed:
    """The field gets a database index (filters and sorts on it stay fast)."""


@dataclass(frozen=True)
class Secret:
    """Write-only: stored as a password hash, never returned, never filterable or sortable."""


@dataclass(frozen=True)
class References:
    """The field holds the id of a row of another resource (409 when it is missing).

    It defines two relations (CONTRACT §8): ``name`` on this resource (to-one; default: the
    field without ``_id``) and ``reverse`` on the target (to-many; default: this resource's
    name). ``omnicrud.core.relations`` reads and checks them.
    """

    resource: str
    name: str | None = None
    reverse: str | None = None


@dataclass(frozen=True)
class Owner:
    """The field holds the id (``sub``) of the subject that created the row. With auth on,
    the server sets it and every statement sees only the caller's rows (CONTRACT §7);
    with auth off it is an ordinary field."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    nullable: bool
    required: bool
    default: Any = None
    max_length: int | None = None
    unique: bool = False
    indexed: bool = False
    secret: bool = False
    references: str | None = None
    server: bool = False
    owner: bool = False


def _server_field(name: str, kind: Kind) -> FieldSpec:
    return FieldSpec(name, kind, nullable=False, required=False, server=True, unique=name == "id")


def _kind_of(annotation: Any) -> tuple[Kind, bool]:
    """The storage kind of an annotation and whether it admits None."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise ConfigError(f"unsupported union type {annotation!r}")
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return "str", nullable
        raise ConfigError(f"only string literals are supported, got {annotation!r}")
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return "bool", nullable
        if issubclass(annotation, int):
            return "int", nullable
        if issubclass(annotation, float):
            return "float", nullable
        if issubclass(annotation, dt.datetime):
            return "datetime", nullable
        if issubclass(annotation, str):
            return "str", nullable
    try:  # str-like pydantic types such as EmailStr
        if TypeAdapter(annotation).json_schema().get("type") == "string":
            return "str", nullable
    except Exception:
        pass
    raise ConfigError(f"unsupported field type {annotation!r}")


def _spec_of(name: str, info: FieldInfo) -> FieldSpec:
    kind, nullable = _kind_of(info.annotation)
    markers = info.metadata
    max_length = next(
        (m.max_length for m in markers if isinstance(m, annotated_types.MaxLen)), None
    )
    refs = next((m.resource for m in markers if isinstance(m, References)), None)
    if refs is not None and kind != "int":
        raise ConfigError(f"field {name!r}: a reference must be an int")
    default = None if info.default is PydanticUndefined else info.default
    return FieldSpec(
        name=name,
        kind=kind,
        nullable=nullable,
        required=info.is_required(),
        default=default,
        max_length=max_length,
        unique=any(isinstance(m, Unique) for m in markers),
        indexed=any(isinstance(m, Indexed) for m in markers),
        secret=any(isinstance(m, Secret) for m in markers),
        references=refs,
        owner=any(isinstance(m, Owner) for m in markers),
    )


def _optional(info: FieldInfo) -> tuple[Any, Any]:
    """A field definition that may be left out (None then means 'not given')."""
    annotation: Any = info.annotation
    return (annotation | None, FieldInfo.merge_field_infos(info, default=None))


def _timestamp_text(value: Any) -> Any:
    if isinstance(value, int | float):
        raise ValueError("a datetime must be an RFC 3339 string with a timezone offset")
    return value


INT64 = (-(2**63), 2**63 - 1)


def _utc(value: dt.datetime) -> dt.datetime:
    try:
        return utc_ms(value)
    except OverflowError:
        raise ValueError("the datetime is out of range once moved to UTC") from None


def _plain_zero(value: float) -> float:
    return value + 0.0  # -0.0 -> 0.0: some databases keep the sign, others do not


_EXACT = 2**53
"""Beyond this a float no longer names one integer (and the JSON parser turns integers too
large for 64 bits into floats): such floats stay floats, and are refused."""


def _integral(value: Any) -> Any:
    """JSON has one number type: ``3.0`` is the integer 3 (JSON Schema agrees), ``3.5`` is not."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT:
        return int(value)
    return value


def _int64(value: int) -> int:
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError("the number does not fit in 64 bits")
    return value


_INPUT_TYPES: dict[Kind, Any] = {
    # Bodies arrive as parsed JSON, so timestamps are strings: the one lax conversion, and
    # only from strings (not from epoch numbers). Naive datetimes are rejected.
    # Stored and returned in UTC with millisecond precision.
    "datetime": Annotated[
        AwareDatetime, Strict(False), BeforeValidator(_timestamp_text), AfterValidator(_utc)
    ],
    "float": Annotated[float, AfterValidator(_plain_zero)],
    # Every backend stores 64-bit integers: a larger one is a 422, not a database error.
    "int": Annotated[int, BeforeValidator(_integral), AfterValidator(_int64)],
}


def _input(info: FieldInfo, kind: Kind, nullable: bool) -> tuple[Any, Any]:
    """The field as bodies are validated: strictly (no "12" for an int, no true for a float),
    datetimes aware (then UTC, milliseconds), integers within 64 bits, no negative zero."""
    annotation = _INPUT_TYPES[kind]
    return (annotation | None if nullable else annotation, info)


class Resource:
    """A named collection served at ``/{name}``, described by a pydantic model and markers."""

    def __init__(
        self,
        name: str,
        model: type[BaseModel],
        *,
        accounts: bool = False,
        username: str = "username",
        password: str | None = None,
        active: str | None = "is_active",
    ) -> None:
        """``accounts=True``: rows are login accounts for ``POST /auth/token``, found by
        the ``username`` field, checked against the Secret ``password`` field (default: the
        only Secret field); ``active`` names a bool field that must be true (None: none)."""
        if not _NAME.match(name):
            raise ConfigError(f"resource name {name!r} must match {_NAME.pattern}")
        self.name = name
        self.model = model
        user = [_spec_of(n, info) for n, info in model.model_fields.items()]
        for f in user:
            if f.name in SERVER_FIELDS or not _NAME.match(f.name):
                raise ConfigError(f"{name}: field name {f.name!r} is reserved or invalid")
            if f.secret and (f.kind != "str" or f.unique or f.indexed or f.references):
                raise ConfigError(f"{name}.{f.name}: a secret must be a plain str")
        self.user_fields: tuple[FieldSpec, ...] = tuple(user)
        self.fields: tuple[FieldSpec, ...] = (
            _server_field("id", "int"),
            *user,
            _server_field("created_at", "datetime"),
            _server_field("updated_at", "datetime"),
        )
        self.by_name: dict[str, FieldSpec] = {f.name: f for f in self.fields}
        self.readable: tuple[str, ...] = tuple(f.name for f in self.fields if not f.secret)
        """Output fields, in the order every response uses."""
        self.secrets: tuple[str, ...] = tuple(f.name for f in user if f.secret)
        self.references: tuple[FieldSpec, ...] = tuple(f for f in user if f.references)
        owners = [f for f in user if f.owner]
        if len(owners) > 1 or any(f.kind not in ("int", "str") for f in owners):
            raise ConfigError(f"{name}: at most one Owner() field, an int or a str")
        self.owner: FieldSpec | None = owners[0] if owners else None
        """The ``Owner()`` field, if any."""
        self.accounts: Accounts | None = (
            _accounts(name, self.by_name, username, password, active) if accounts else None
        )

        config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
        title = name.title().replace("_", "")
        overrides = {
            f.name: _input(model.model_fields[f.name], f.kind, f.nullable)
            for f in user
            if f.kind in _INPUT_TYPES
        }
        strict_base = type(
            f"{title}Input", (model,), {"model_config": config, "__module__": model.__module__}
        )
        self.create_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{title}Create", __base__=strict_base, **overrides
        )
        """Validates POST and PUT bodies (and each element of a bulk POST)."""
        self.update_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{title}Merged",
            __base__=self.create_model,
            **{s: _optional(model.model_fields[s]) for s in self.secrets},
        )
        """Validates a merged PATCH result: secrets may be absent (the stored hash stays)."""
        self.patch_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{title}Patch",
            __config__=config,
            **{f.name: _optional(model.model_fields[f.name]) for f in user},
        )
        """OpenAPI only: a JSON Merge Patch document for this resource."""
        read_fields: dict[str, Any] = {"id": (int, ...)}
        for f in user:
            if not f.secret:
                info = model.model_fields[f.name]
                read_fields[f.name] = (info.annotation, FieldInfo(annotation=info.annotation))
        read_fields["created_at"] = (dt.datetime, ...)
        read_fields["updated_at"] = (dt.datetime, ...)
        self.read_model: type[BaseModel] = create_model(f"{title}Row", **read_fields)
        """OpenAPI only: one row as the API returns it."""

    def __repr__(self) -> str:
        return f"Resource({self.name!r}, {self.model.__name__})"


@dataclass(frozen=True)
class Accounts:
    """Which fields of an ``accounts=True`` resource login reads."""

    username: str
    password: str
    active: str | None


def _accounts(
    name: str,
    by_name: dict[str, FieldSpec],
    username: str,
    password: str | None,
    active: str | None,
) -> Accounts:
    secrets = [f.name for f in by_name.values() if f.secret]
    if password is None and len(secrets) == 1:
        password = secrets[0]
    user = by_name.get(username)
    if user is None or user.kind != "str" or not user.unique:
        raise ConfigError(f"{name}: accounts=True needs a unique str field {username!r}")
    if password is None or password not in secrets:
        raise ConfigError(f"{name}: accounts=True needs a Secret() password field")
    if active is not None and (by_name.get(active) is None or by_name[active].kind != "bool"):
        active = None
    return Accounts(username, password, active)


def check_resources(resources: Sequence[Resource], reserved: Sequence[str]) -> None:
    """Names unique, not colliding with service routes, references pointing at known resources."""
    names = [r.name for r in resources]
    for r in resources:
        if names.count(r.name) > 1:
            raise ConfigError(f"resource {r.name!r} is declared twice")
        if r.name in reserved:
            raise ConfigError(f"resource name {r.name!r} collides with a service route")
        for f in r.references:
            if f.references not in names:
                raise ConfigError(f"{r.name}.{f.name} references unknown resource {f.references!r}")
