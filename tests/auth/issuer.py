"""A local OIDC issuer for the auth tests: discovery + JWKS over real HTTP on loopback.

Keys are generated with ``cryptography`` (RSA 2048, EC P-256, Ed25519); the server counts
the requests per path so tests can assert how often the service fetched.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
ALGORITHMS = {"rsa": "RS256", "ec": "ES256", "ed25519": "EdDSA"}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    kind: str
    private: PrivateKey

    @property
    def alg(self) -> str:
        return ALGORITHMS[self.kind]

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.alg}


def generate(kind: str) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def session_key(kind: str, n: int = 0) -> PrivateKey:
    """Keys are generated once per session (RSA takes ~100 ms)."""
    return generate(kind)


class Issuer:
    """``url`` is the issuer (and base URL); ``/.well-known/openid-configuration`` and
    ``/jwks`` are served; ``published`` is the list of keys the JWKS shows right now."""

    def __init__(self) -> None:
        self.published: list[SigningKey] = []
        self.requests: Counter[str] = Counter()
        self.status = 200
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests[self.path] += 1
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [key.jwk() for key in issuer.published]}
                else:
                    body = {}
                data = json.dumps(body).encode()
                self.send_response(issuer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def jwks_fetches(self) -> int:
        return self.requests["/jwks"]

    def publish(self, kind: str, kid: str, n: int = 0) -> SigningKey:
        key = SigningKey(kid, kind, session_key(kind, n))
        self.published.append(key)
        return key

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "alice",
            "aud": "omnicrud-tests",
            "iat": now,
            "exp": now + 600,
            "scope": "items:read",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, key: SigningKey, **overrides: Any) -> str:
        return jwt.encode(
            self.claims(**overrides), key.private, algorithm=key.alg, headers={"kid": key.kid}
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed with any bytes (PyJWT refuses PEM keys as HMAC secrets)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)
