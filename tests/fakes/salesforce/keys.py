"""The connected app's key pair of the tests: generated once per test run (2048-bit RSA),
the private half for the provider's settings, the public half for the fake to verify
assertions with, as Salesforce does with the app's uploaded certificate."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "3MVG9fake.consumer.key"
USERNAME = "integration@fulfillment.test"


@dataclass(frozen=True, slots=True)
class KeyPair:
    private_pem: str
    public_pem: str


def _pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private.decode(), public.decode())


@cache
def app_keys() -> KeyPair:
    return _pair()


@cache
def other_keys() -> KeyPair:
    """A key Salesforce does not know: its assertions' signatures do not verify."""
    return _pair()
