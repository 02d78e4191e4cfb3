"""ETags from row versions, and the If-Match / If-None-Match headers."""

from __future__ import annotations

from starlette.requests import Request

from .problems import Problem


def etag(version: int) -> str:
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def none_match(header: str | None, tag: str) -> bool:
    """True when If-None-Match names this representation (weak comparison, RFC 9110)."""
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or tag in tags or f"W/{tag}" in tags


_MAX_VERSION_DIGITS = 18  # versions are positive int64s; longer tags name no version


def _version(tag: str) -> int | None:
    """The version a strong tag (``"12"``) names; None for anything else (weak tags,
    non-ASCII digits such as ``"²"``, numbers no row version can reach)."""
    if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"':
        return None
    inner = tag[1:-1]
    if not (inner.isascii() and inner.isdigit()) or len(inner) > _MAX_VERSION_DIGITS:
        return None
    return int(inner)


class IfMatch:
    """A parsed If-Match: ``any_row`` for ``*``, else the versions it names (strong only).
    Tags that name no version match nothing: they are stale by definition."""

    __slots__ = ("any_row", "versions")

    def __init__(self, header: str) -> None:
        tags = _tags(header)
        self.any_row = "*" in tags
        self.versions = frozenset(v for v in map(_version, tags) if v is not None)


def if_match(request: Request, required: bool) -> IfMatch | None:
    return if_match_header(request.headers.get("if-match"), required)


def if_match_header(header: str | None, required: bool) -> IfMatch | None:
    if header is None:
        if required:
            raise Problem("precondition-required", "send If-Match with the ETag you last read")
        return None
    return IfMatch(header)
