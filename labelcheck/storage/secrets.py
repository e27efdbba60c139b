"""Secrets at rest (Label Studio API keys): Fernet (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package) under a key derived from the app's ``SECRET_KEY`` with
HKDF-SHA256 (RFC 5869), so the database alone never reveals a key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from labelcheck.errors import LabelcheckError

_INFO = b"labelcheck: data source secrets v1"


class SecretBox:
    """Encrypts and decrypts short secrets under ``secret_key`` (the app's SECRET_KEY)."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise LabelcheckError("no SECRET_KEY: cannot encrypt or decrypt stored API keys")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError) as err:
            raise LabelcheckError(
                "cannot decrypt the stored API key: the app's SECRET_KEY changed since it was saved; "
                "enter the key again on the project's Label Studio settings page") from err


def secret_digest(secret: str) -> str:
    """SHA-256 hex of a shared secret (a webhook's), stored instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(candidate: str, digest: str | None) -> bool:
    """Constant-time check of ``candidate`` against a stored :func:`secret_digest`."""
    return bool(digest) and hmac.compare_digest(secret_digest(candidate), str(digest))
