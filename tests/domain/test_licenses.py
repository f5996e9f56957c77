"""Activation codes, license claims and usage reports (docs/domain.md 8): pure rules."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.licenses import (
    ACTIVATION_CODE_ALPHABET,
    ACTIVATION_CODE_LENGTH,
    CODE_NOT_FOUND,
    ActivationRequest,
    AddOnMetric,
    InvalidLicenseKey,
    LicenseClaims,
    UsageReport,
    add_on_totals,
    encode_payload,
    join_key,
    new_activation_code,
    normalize_activation_code,
    split_key,
)


def claims(**overrides: object) -> LicenseClaims:
    values: dict[str, object] = {
        "license_id": 7,
        "subscription_number": "A-S00000042",
        "plan_code": "premium",
        "seats": 25,
        "trial": False,
        "term_start": date(2026, 1, 1),
        "term_end": date(2027, 1, 1),
        "add_ons": {"duo_pro": 5},
        "instance_id": "instance-1",
        "issued_at": datetime(2026, 6, 1, 12, tzinfo=UTC),
        "key_id": "0123456789abcdef",
    }
    return LicenseClaims(**(values | overrides))  # type: ignore[arg-type]


# Activation codes


def test_a_code_is_24_unambiguous_symbols() -> None:
    code = new_activation_code()
    assert len(code) == ACTIVATION_CODE_LENGTH == 24
    assert set(code) <= set(ACTIVATION_CODE_ALPHABET)


def test_the_alphabet_has_no_look_alikes() -> None:
    assert len(ACTIVATION_CODE_ALPHABET) == len(set(ACTIVATION_CODE_ALPHABET)) == 32
    assert not set("0O1I") & set(ACTIVATION_CODE_ALPHABET)
    assert all(c.isdigit() or c.isupper() for c in ACTIVATION_CODE_ALPHABET)


def test_codes_are_unique_and_use_the_whole_alphabet() -> None:
    codes = {new_activation_code() for _ in range(2_000)}
    assert len(codes) == 2_000
    assert set("".join(codes)) == set(ACTIVATION_CODE_ALPHABET)


def test_codes_come_from_the_choice_given() -> None:
    assert new_activation_code(lambda alphabet: alphabet[0]) == "A" * 24


@pytest.mark.parametrize(
    "typed",
    [
        "abcd-efgh-jkmn-pqrs-tuvw-xyz2",
        " ABCD EFGH JKMN PQRS TUVW XYZ2 ",
        "ABCDEFGHJKMNPQRSTUVWXYZ2",
    ],
)
def test_a_typed_code_is_normalised(typed: str) -> None:
    assert normalize_activation_code(typed) == "ABCDEFGHJKMNPQRSTUVWXYZ2"


@pytest.mark.parametrize(
    "typed", ["", "ABC", "A" * 23, "A" * 25, "ABCDEFGHJKMNPQRSTUVWXY_2", "ÄBCDEFGHJKMNPQRSTUVWXYZ2"]
)
def test_what_cannot_be_a_code_is_none(typed: str) -> None:
    assert normalize_activation_code(typed) is None


def test_an_activation_request_is_checked() -> None:
    request = ActivationRequest.checked(" abcd-efgh-jkmn-pqrs-tuvw-xyz2 ", " host-1 ", "  ")
    assert request == ActivationRequest("ABCDEFGHJKMNPQRSTUVWXYZ2", "host-1", None)
    named = ActivationRequest.checked("A" * 24, "host-1", " Lab server ")
    assert named.instance_name == "Lab server"


@pytest.mark.parametrize(
    ("instance_id", "name"),
    [("", None), ("   ", None), ("x" * 65, None), ("a\nb", None), ("h", "n" * 201)],
)
def test_a_bad_instance_is_a_validation_error(instance_id: str, name: str | None) -> None:
    with pytest.raises(DomainError) as caught:
        ActivationRequest.checked("A" * 24, instance_id, name)
    assert caught.value.code is ErrorCode.VALIDATION


def test_a_malformed_code_is_not_found_with_the_common_message() -> None:
    with pytest.raises(DomainError) as caught:
        ActivationRequest.checked("nope", "host-1")
    assert caught.value == CODE_NOT_FOUND
    assert caught.value.code is ErrorCode.NOT_FOUND


# Claims


def test_claims_are_canonical_json() -> None:
    raw = claims(add_ons={"duo_pro": 5, "duo_enterprise": 2}).to_bytes()
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    decoded = json.loads(raw)
    assert decoded == {
        "add_ons": {"duo_enterprise": 2, "duo_pro": 5},
        "instance_id": "instance-1",
        "issued_at": "2026-06-01T12:00:00Z",
        "key_id": "0123456789abcdef",
        "license_id": 7,
        "plan_code": "premium",
        "seats": 25,
        "subscription_number": "A-S00000042",
        "term_end": "2027-01-01",
        "term_start": "2026-01-01",
        "trial": False,
        "version": 1,
    }


def test_claims_round_trip() -> None:
    original = claims(issued_at=datetime(2026, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))))
    parsed = LicenseClaims.from_bytes(original.to_bytes())
    assert parsed == claims(issued_at=datetime(2026, 6, 1, 12, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    "change",
    [
        {"seats": "25"},
        {"seats": True},
        {"trial": 0},
        {"license_id": None},
        {"add_ons": {"duo_pro": "5"}},
        {"add_ons": []},
        {"issued_at": "2026-06-01T12:00:00"},
        {"term_end": "next year"},
        {"version": 2},
    ],
)
def test_malformed_claims_are_refused(change: dict[str, object]) -> None:
    raw = json.loads(claims().to_bytes()) | change
    with pytest.raises(InvalidLicenseKey):
        LicenseClaims.from_bytes(json.dumps(raw).encode())


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"version": 1}', b"\xff\xfe"])
def test_what_is_not_claims_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidLicenseKey):
        LicenseClaims.from_bytes(raw)


def test_the_same_grant_issued_later_entitles_alike() -> None:
    later = claims(issued_at=datetime(2026, 7, 1, tzinfo=UTC))
    assert claims().entitles_as(later)
    assert not claims().entitles_as(claims(seats=26))
    assert not claims().entitles_as(claims(add_ons={}))
    assert not claims().entitles_as(claims(instance_id="instance-2"))


def test_add_ons_are_summed_by_code() -> None:
    assert add_on_totals([("duo_pro", 5), ("duo_enterprise", 1), ("duo_pro", 3)]) == {
        "duo_enterprise": 1,
        "duo_pro": 8,
    }
    assert add_on_totals([]) == {}


# Key format


def test_a_key_is_two_base64url_segments() -> None:
    payload = encode_payload(claims())
    key = join_key(payload, b"\x01" * 64)
    assert "=" not in key and "+" not in key and "/" not in key
    parts = split_key(f"  {key}\n")
    assert parts.payload == payload
    assert parts.signature == b"\x01" * 64
    assert parts.signed_bytes == payload.encode()
    assert parts.claims() == claims()


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        "abc.",
        ".abc",
        "a.b.c",
        "ab+c.def",
        "abc.d/ef",
        "abc.d!f",
        "ab c.def",
        "é.abc",
        "a" * 9000 + ".b",
    ],
)
def test_malformed_keys_are_refused(token: str) -> None:
    with pytest.raises(InvalidLicenseKey):
        split_key(token)


def test_a_payload_that_is_not_claims_is_refused_when_read() -> None:
    payload = base64.urlsafe_b64encode(b'{"seats": 5}').rstrip(b"=").decode()
    with pytest.raises(InvalidLicenseKey):
        split_key(f"{payload}.AAAA").claims()


# Usage reports


def test_a_usage_report_is_checked() -> None:
    report = UsageReport.checked(12, 15, [AddOnMetric(" duo_pro ", 3)])
    assert report == UsageReport(12, 15, (AddOnMetric("duo_pro", 3),))
    assert UsageReport.checked(0, 0) == UsageReport(0, 0, ())


@pytest.mark.parametrize(
    ("billable", "historical", "metrics"),
    [
        (-1, 0, []),
        (0, -1, []),
        (1, 1, [AddOnMetric("duo_pro", -1)]),
        (1, 1, [AddOnMetric("  ", 1)]),
        (1, 1, [AddOnMetric("x" * 65, 1)]),
        (1, 1, [AddOnMetric("duo_pro", 1)] * 51),
    ],
)
def test_a_bad_usage_report_is_a_validation_error(
    billable: int, historical: int, metrics: list[AddOnMetric]
) -> None:
    with pytest.raises(DomainError) as caught:
        UsageReport.checked(billable, historical, metrics)
    assert caught.value.code is ErrorCode.VALIDATION
