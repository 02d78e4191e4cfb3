"""Signing keys from a JWKS URL or OIDC discovery, fetched with httpx off the request path.

Why not PyJWT's ``PyJWKClient``: it fetches with blocking ``urllib`` inside the call,
which would stall the event loop for the whole fetch. Here the fetch is an ``await`` on
httpx with a total deadline, one at a time (a lock), and:

- keys are cached; a ``kid`` not in the cache refetches at most once per
  ``min_refetch`` seconds (30), so a flood of made-up kids costs one fetch per 30 s;
- after ``max_age`` seconds the set is refreshed in the background while the cached keys
  keep serving, and a failed refresh keeps them (an IdP outage does not log everyone out);
- a token that cannot be checked because the keys cannot be fetched raises
  ``IssuerUnavailable`` (503), never ``Unauthorized`` and never an unhandled error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from .errors import IssuerUnavailable, Unauthorized

JWKS_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
"""What a JWKS key may sign with. Never HMAC: a public key is not a shared secret."""
MAX_DOCUMENT_BYTES = 1 << 20
DISCOVERY_PATH = "/.well-known/openid-configuration"

log = logging.getLogger("omnicrud.auth")


class JWKSError(Exception):
    """A fetch or a document went wrong; the message is for the log, never for clients."""


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """The usable signing keys of a JWKS document by ``kid``; unusable keys are skipped
    (no kid, ``use`` other than ``sig``, symmetric, or an algorithm outside
    ``JWKS_ALGORITHMS``)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSError("not a JWKS document (no 'keys' list)")
    keys: dict[str, PyJWK] = {}
    for data in document["keys"]:
        if not isinstance(data, dict):
            continue
        kid = data.get("kid")
        if not isinstance(kid, str) or not kid or data.get("use", "sig") != "sig":
            continue
        if data.get("kty") == "oct":
            continue
        try:
            key = PyJWK(data)
        except (PyJWTError, ValueError, TypeError):
            continue
        if key.algorithm_name in JWKS_ALGORITHMS:
            keys[kid] = key
    return keys


class JWKSource:
    """The keys of one issuer. Give ``jwks_url``, or ``issuer`` for OIDC discovery."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        timeout: float = 3.0,
        min_refetch: float = 30.0,
        max_age: float = 300.0,
        on_keys_removed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_url is None and issuer is None:
            raise ValueError("JWKSource needs jwks_url or issuer")
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._timeout = timeout
        self._min_refetch = min_refetch
        self._max_age = max_age
        self.on_keys_removed = on_keys_removed
        """Called after a refresh that dropped a kid (the verifier forgets its cache)."""
        self._clock = clock
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        self._last_failed = False
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self.fetches = 0
        """Fetch attempts so far (discovery included in one attempt)."""

    async def key(self, kid: str) -> PyJWK:
        """The key named ``kid``. Raises Unauthorized("unknown_kid") or IssuerUnavailable."""
        keys = self._keys
        if keys is not None and kid in keys:
            if self._clock() - self._fetched_at >= self._max_age:
                self._refresh_in_background()
            return keys[kid]
        async with self._lock:
            if (self._keys is None or kid not in self._keys) and self._may_fetch():
                await self._fetch()
        if self._keys is not None and kid in self._keys:
            return self._keys[kid]
        if self._keys is None or self._last_failed:
            raise IssuerUnavailable(self._retry_after())
        raise Unauthorized("unknown_kid", token_sent=True)

    async def aclose(self) -> None:
        """Cancel a background refresh still running."""
        task, self._background = self._background, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _may_fetch(self) -> bool:
        last = self._last_attempt
        return last is None or self._clock() - last >= self._min_refetch

    def _retry_after(self) -> int:
        last = self._last_attempt
        if last is None:
            return 1
        return max(1, int(self._min_refetch - (self._clock() - last)) + 1)

    def _refresh_in_background(self) -> None:
        if self._lock.locked() or not self._may_fetch():
            return
        if self._background is not None and not self._background.done():
            return
        self._background = asyncio.get_running_loop().create_task(self._locked_fetch())

    async def _locked_fetch(self) -> None:
        async with self._lock:
            if self._may_fetch():
                await self._fetch()

    async def _fetch(self) -> None:
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            async with asyncio.timeout(self._timeout):
                keys = parse_jwks(await self._download())
        except (JWKSError, httpx.HTTPError, TimeoutError, orjson.JSONDecodeError) as exc:
            self._last_failed = True
            message = str(exc) or type(exc).__name__
            log.warning("cannot fetch signing keys from %s: %s", self._source(), message)
            return
        old, self._keys = self._keys, keys
        self._fetched_at = self._clock()
        self._last_failed = False
        if not keys:
            log.warning("no usable signing key at %s", self._source())
        if old is not None and old.keys() - keys.keys() and self.on_keys_removed is not None:
            self.on_keys_removed()

    def _source(self) -> str:
        return self._jwks_url or self._issuer or ""

    async def _download(self) -> Any:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            if self._jwks_url is None:
                assert self._issuer is not None
                self._jwks_url = await self._discover(client, self._issuer)
            return await _get_json(client, self._jwks_url)

    @staticmethod
    async def _discover(client: httpx.AsyncClient, issuer: str) -> str:
        document = await _get_json(client, issuer.rstrip("/") + DISCOVERY_PATH)
        if not isinstance(document, dict):
            raise JWKSError("the discovery document is not an object")
        if document.get("issuer") != issuer:
            raise JWKSError(f"the discovery document names issuer {document.get('issuer')!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise JWKSError("the discovery document has no jwks_uri")
        return jwks_uri


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
        if response.status_code != 200:
            raise JWKSError(f"GET {url} answered {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise JWKSError(f"GET {url}: document over {MAX_DOCUMENT_BYTES} bytes")
    return orjson.loads(body)
