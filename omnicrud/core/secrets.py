"""Password hashing for ``Secret`` fields (Argon2id, argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(value: str) -> str:
    return _hasher.hash(value)


def verify_secret(stored: str, value: str) -> bool:
    try:
        return _hasher.verify(stored, value)
    except (VerificationError, InvalidHashError):
        return False
