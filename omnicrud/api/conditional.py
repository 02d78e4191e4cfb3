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


class IfMatch:
    """A parsed If-Match: ``any_row`` for ``*``, else the versions it names (strong only)."""

    __slots__ = ("any_row", "versions")

    def __init__(self, header: str) -> None:
        tags = _tags(header)
        self.any_row = "*" in tags
        self.versions: set[int] = set()
        for tag in tags:
            inner = tag[1:-1] if len(tag) > 1 and tag[0] == tag[-1] == '"' else ""
            if inner.isdigit():
                self.versions.add(int(inner))

    def expected(self) -> int | None:
        """The version to compare-and-set against, or None for ``*``."""
        if self.any_row:
            return None
        if len(self.versions) != 1:
            return -1  # matches no row: a stale or unparseable tag is simply not current
        return next(iter(self.versions))


def if_match(request: Request, required: bool) -> IfMatch | None:
    header = request.headers.get("if-match")
    if header is None:
        if required:
            raise Problem("precondition-required", "send If-Match with the ETag you last read")
        return None
    return IfMatch(header)
