"""The signature schemes of signed requests in and out: Stripe's webhook scheme over
`<t>.<body>`, and the provisioning scheme over `<t>.<METHOD>.<path>.<body>`."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.providers.signing import (
    InvalidSignature,
    request_signature_header,
    signature_header,
    verify_request_signature,
    verify_signature,
)

SECRET = "whsec-test-0123456789abcdef0123456789"
BODY = b'{"provision":{"base_product":{"seats":10}}}'
T = 1_767_260_000
PATH = "/api/v4/internal/gitlab_subscriptions/namespaces/100042/provision"
OTHER_PATH = "/api/v4/internal/gitlab_subscriptions/namespaces/100043/provision"


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
        (BODY, "t=" + "9" * 5000 + ",v1=abc", T, "one numeric t="),  # past int()'s limit
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


def test_the_provisioning_header_signs_the_method_and_path_too() -> None:
    content = f"{T}.POST.{PATH}.".encode() + BODY
    expected = hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest()

    header = request_signature_header("post", PATH, BODY, SECRET, T)

    assert header == f"t={T},v1={expected}"
    assert verify_request_signature("POST", PATH, BODY, header, SECRET, now=T + 300) == T


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", OTHER_PATH, BODY),  # replayed to another namespace
        ("GET", PATH, BODY),  # as another method
        ("POST", PATH, BODY + b" "),
    ],
    ids=["other-path", "other-method", "other-body"],
)
def test_a_provisioning_signature_is_refused_for_another_request(
    method: str, path: str, body: bytes
) -> None:
    header = request_signature_header("POST", PATH, BODY, SECRET, T)

    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_request_signature(method, path, body, header, SECRET, now=T)


def test_the_two_schemes_do_not_verify_each_other() -> None:
    """A webhook-style signature of the body alone is not a provisioning signature."""
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_request_signature(
            "POST", PATH, BODY, signature_header(BODY, SECRET, T), SECRET, now=T
        )
