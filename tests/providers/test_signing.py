"""The one signature scheme (Stripe's webhook signature) of signed requests in and out."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.providers.signing import InvalidSignature, signature_header, verify_signature

SECRET = "whsec-test-0123456789abcdef0123456789"
BODY = b'{"provision":{"base_product":{"seats":10}}}'
T = 1_767_260_000


def test_the_header_is_stripes_shape() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert signature_header(BODY, SECRET, T) == f"t={T},v1={expected}"


def test_a_signed_body_verifies_within_the_tolerance() -> None:
    header = signature_header(BODY, SECRET, T)

    assert verify_signature(BODY, header, SECRET, now=T + 300) == T
    assert verify_signature(BODY, header, SECRET, now=T - 300) == T


def test_one_matching_signature_of_several_is_enough() -> None:
    """While a secret is rotated the sender signs with both."""
    old = signature_header(BODY, "old-secret", T).split(",")[1]
    header = f"{old},{signature_header(BODY, SECRET, T)}"

    assert verify_signature(BODY, header, SECRET, now=T) == T


@pytest.mark.parametrize(
    ("body", "header", "now", "reason"),
    [
        (BODY, None, T, "no signature header"),
        (BODY, "", T, "no signature header"),
        (BODY, "v1=abc", T, "one numeric t="),
        (BODY, f"t={T},t={T},v1=abc", T, "one numeric t="),
        (BODY, "t=١٢٣,v1=abc", T, "one numeric t="),  # Arabic-Indic digits
        (BODY, f"t={T}", T, "no v1= signature"),
        (BODY, f"t={T},v0=abc", T, "no v1= signature"),
        (BODY + b" ", signature_header(BODY, SECRET, T), T, "no signature matches"),
        (BODY, signature_header(BODY, "another-secret", T), T, "no signature matches"),
        (BODY, signature_header(BODY, SECRET, T), T + 301, "outside the tolerance"),
        (BODY, signature_header(BODY, SECRET, T + 301), T, "outside the tolerance"),
    ],
)
def test_a_bad_signature_is_refused_with_its_reason(
    body: bytes, header: str | None, now: int, reason: str
) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify_signature(body, header, SECRET, now=now)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    moved = signature_header(BODY, SECRET, T).replace(f"t={T}", f"t={T + 1}")

    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_signature(BODY, moved, SECRET, now=T)
