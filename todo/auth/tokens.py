"""RS256 JSON Web Tokens: issuing and checking access and refresh tokens.

Keys come from settings (JWT_PRIVATE_KEY / JWT_PUBLIC_KEY, PEM); when none are configured a key
pair is generated once into DATA_DIR/jwt/ (`ensure_key_pair`). Claims: `sub` and `user_id` (the
user's id), `token_type` (access | refresh), `iat`, `exp`, `iss`.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fasteners
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

ACCESS, REFRESH = "access", "refresh"
ALGORITHM = "RS256"


class TokenError(Exception):
    """A token that is missing, malformed, wrongly signed, expired or of the wrong type."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def _generate() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private, public)


_generation_lock = threading.Lock()


def ensure_key_pair(folder: Path) -> KeyPair:
    """The key pair kept in `folder`, generated there on first use (private key mode 0600).

    Generation holds a thread lock and a file lock (threads and processes starting together),
    and the public half is written first, the private half last: the private file's presence
    means the pair is complete."""
    private_file, public_file = folder / "jwt_private.pem", folder / "jwt_public.pem"
    if not private_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with _generation_lock, fasteners.InterProcessLock(str(folder / ".generate.lock")):
            if not private_file.exists():
                pair = _generate()
                public_file.write_bytes(pair.public_pem)
                partial = folder / f".jwt_private.{os.getpid()}.tmp"
                descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(pair.private_pem)
                partial.replace(private_file)
    return KeyPair(private_file.read_bytes(), public_file.read_bytes())


@cache  # one pair per process: computed under the generation lock, then read from the cache
def key_pair() -> KeyPair:
    if settings.JWT_PRIVATE_KEY and settings.JWT_PUBLIC_KEY:
        return KeyPair(settings.JWT_PRIVATE_KEY.encode(), settings.JWT_PUBLIC_KEY.encode())
    return ensure_key_pair(Path(settings.DATA_DIR) / "jwt")


def issue(user_id: str, token_type: str = ACCESS, *, now: dt.datetime | None = None, version: int = 0) -> str:
    """A signed token of `token_type` for `user_id`, valid while the user's session version is
    `version` (signing out raises it: every token issued before stops working)."""
    moment = now or dt.datetime.now(dt.UTC)
    lifetime = settings.JWT_ACCESS_TTL if token_type == ACCESS else settings.JWT_REFRESH_TTL
    claims = {
        "sub": user_id,
        "user_id": user_id,
        "token_type": token_type,
        "iat": int(moment.timestamp()),
        "exp": int((moment + dt.timedelta(seconds=lifetime)).timestamp()),
        "iss": settings.JWT_ISSUER,
        "ver": version,
    }
    return jwt.encode(claims, key_pair().private_pem, algorithm=ALGORITHM)


def verify(token: str, token_type: str = ACCESS) -> str:
    """The user id a valid token of `token_type` names; TokenError otherwise."""
    return verify_session(token, token_type)[0]


def verify_session(token: str, token_type: str = ACCESS) -> tuple[str, int]:
    """(user id, session version) of a valid token of `token_type`; TokenError otherwise."""
    try:
        claims = jwt.decode(
            token,
            key_pair().public_pem,
            algorithms=[ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired", expired=True) from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if claims.get("token_type") != token_type:
        raise TokenError("wrong token type")
    user_id = claims.get("user_id") or claims.get("sub")
    version = claims.get("ver", 0)
    if not isinstance(user_id, str) or not user_id or not isinstance(version, int):
        raise TokenError("invalid token")
    return user_id, version
