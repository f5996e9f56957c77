"""Signing and verifying license keys with Ed25519 (the token format is app/domain/licenses.py).

The private key is LICENSE_SIGNING_KEY (PEM). In development and test, when it is unset, a
development key is derived from JWT_SECRET, so every process of one setup signs alike; the
settings refuse to start production without a real key, and so does `signer`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import Settings
from app.domain.licenses import (
    InvalidLicenseKey,
    LicenseClaims,
    encode_payload,
    join_key,
    offline_key_of,
    split_key,
)

DEVELOPMENT_KEY_CONTEXT = b"license:"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of the public key, carried in every key it verifies."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class LicenseSigner:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    @property
    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    def sign(self, claims: LicenseClaims) -> str:
        if claims.key_id != self.key_id:
            raise ValueError("the claims name another signing key")
        payload = encode_payload(claims)
        return join_key(payload, self.private_key.sign(payload.encode("ascii")))

    def verify(self, token: str) -> LicenseClaims:
        return verify_license_key(token, self.public_key)


def verify_license_key(token: str, public_key: Ed25519PublicKey) -> LicenseClaims:
    """The claims of a key signed by `public_key`'s private key and naming it; otherwise
    InvalidLicenseKey (malformed, altered, or signed with another key)."""
    parts = split_key(token)
    try:
        public_key.verify(parts.signature, parts.signed_bytes)
    except InvalidSignature as exc:
        raise InvalidLicenseKey("bad signature") from exc
    claims = parts.claims()
    if claims.key_id != key_id_of(public_key):
        raise InvalidLicenseKey("signed for another key id")
    return claims


def verify_offline_license(text: str, public_key: Ed25519PublicKey) -> LicenseClaims:
    """What an air-gapped instance does with an offline license file, with no network: the
    claims of its key when `public_key` signed it as an offline license; otherwise
    InvalidLicenseKey."""
    claims = verify_license_key(offline_key_of(text), public_key)
    if not claims.offline:
        raise InvalidLicenseKey("not an offline license")
    return claims


def development_key(jwt_secret: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(DEVELOPMENT_KEY_CONTEXT + jwt_secret.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """A PEM private key; `\\n` escapes (one-line environment variables) are accepted."""
    text = pem.strip().replace("\\n", "\n")
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("LICENSE_SIGNING_KEY must be an Ed25519 private key (PEM)")
    return key


def signer(settings: Settings) -> LicenseSigner:
    return _signer(settings.license_signing_key, settings.jwt_secret, settings.is_production)


@lru_cache(maxsize=8)
def _signer(pem: str | None, jwt_secret: str, production: bool) -> LicenseSigner:
    if pem:
        return LicenseSigner(load_private_key(pem))
    if production:
        raise ValueError("LICENSE_SIGNING_KEY must be set in production")
    return LicenseSigner(development_key(jwt_secret))
