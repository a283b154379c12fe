"""Password hashing: Argon2 via pwdlib. Only the hash is ever stored."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(plain: str) -> str:
    return _hasher.hash(plain)


def verify_password(plain: str, hashed: str | None) -> bool:
    """False for a missing or unrecognised hash rather than an exception: a bad row must not crash sign-in."""
    if not hashed:
        return False
    try:
        return _hasher.verify(plain, hashed)
    except UnknownHashError:
        return False
