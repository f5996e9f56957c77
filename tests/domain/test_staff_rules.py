"""The staff tools' pure rules (app/domain/staff.py) and the offline license file format
(app/domain/licenses.py): bounds at their edges, and a file that round-trips its key."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.licenses import (
    InvalidLicenseKey,
    LicenseClaims,
    offline_file_name,
    offline_file_text,
    offline_key_of,
)
from app.domain.staff import (
    ExtensionKind,
    check_comp_seats,
    check_extension_days,
    check_term_end,
)

TODAY = date(2026, 6, 1)


def refused(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)  # type: ignore[operator]
    assert raised.value.code is ErrorCode.VALIDATION
    return raised.value.message


def test_comp_seats_go_from_zero_to_the_paid_seats() -> None:
    check_comp_seats(0, 10)
    check_comp_seats(10, 10)
    assert "At most 10 comp seats" in refused(check_comp_seats, 11, 10)
    refused(check_comp_seats, -1, 10)


@pytest.mark.parametrize(("kind", "bound"), [(ExtensionKind.TRIAL, 30), (ExtensionKind.GRACE, 14)])
def test_extensions_are_bounded(kind: ExtensionKind, bound: int) -> None:
    check_extension_days(kind, 1)
    check_extension_days(kind, bound)
    assert f"1 to {bound} days" in refused(check_extension_days, kind, bound + 1)
    refused(check_extension_days, kind, 0)


def test_a_term_end_is_not_before_today_nor_the_start_and_at_most_three_years() -> None:
    start = date(2026, 1, 1)
    check_term_end(TODAY, term_start=start, today=TODAY)
    check_term_end(date(2029, 1, 1), term_start=start, today=TODAY)  # 1096 days
    assert "before today" in refused(
        check_term_end, date(2026, 5, 31), term_start=start, today=TODAY
    )
    refused(check_term_end, date(2029, 1, 2), term_start=start, today=TODAY)
    refused(check_term_end, start, term_start=start, today=date(2025, 12, 1))


def claims(**overrides: object) -> LicenseClaims:
    values: dict[str, object] = {
        "license_id": 7,
        "subscription_number": "A-S00000042",
        "plan_code": "premium",
        "seats": 12,
        "trial": False,
        "term_start": date(2026, 1, 1),
        "term_end": date(2027, 1, 1),
        "add_ons": {"duo_pro": 5},
        "instance_id": "4f1c-air-gapped",
        "issued_at": datetime(2026, 6, 1, 12, 30, tzinfo=UTC),
        "key_id": "0123456789abcdef",
        "offline": True,
    }
    return LicenseClaims(**(values | overrides))  # type: ignore[arg-type]


def test_offline_claims_say_so_and_cloud_claims_are_unchanged() -> None:
    assert claims().as_json()["offline"] is True
    assert "offline" not in claims(offline=False).as_json()
    assert LicenseClaims.from_bytes(claims().to_bytes()) == claims()
    assert LicenseClaims.from_bytes(claims(offline=False).to_bytes()).offline is False


def test_an_offline_file_holds_its_key_and_nothing_else_counts() -> None:
    key = "A" * 150 + "." + "B" * 86
    text = offline_file_text(claims(), key)

    assert offline_key_of(text) == key
    assert offline_file_name(claims()) == "A-S00000042-20260601.license"
    assert "Plan: premium, 12 seats" in text and "Add-ons: duo_pro x5" in text
    assert max(len(line) for line in text.splitlines()[8:]) <= 64
    with pytest.raises(InvalidLicenseKey):
        offline_key_of(text.replace("-----END OFFLINE LICENSE-----", ""))
    with pytest.raises(InvalidLicenseKey):
        offline_key_of(text + text)  # two blocks
    with pytest.raises(InvalidLicenseKey):
        offline_key_of("x" * 20_000)
