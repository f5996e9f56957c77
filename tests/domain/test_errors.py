import pickle

from app.domain.errors import DomainError, ErrorCode


def test_codes_are_their_names() -> None:
    assert all(code.value == code.name for code in ErrorCode)


def test_every_code_of_the_api_contract_exists() -> None:
    contract = {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "VALIDATION",
        "MANAGED_BY_PARTNER",
        "SUBSCRIPTION_NOT_ACTIVE",
        "PLAN_NOT_ELIGIBLE",
        "SEATS_BELOW_BILLABLE_USERS",
        "ADDON_EXCEEDS_SEATS",
        "NO_SEATS_AVAILABLE",
        "TRIAL_ALREADY_USED",
        "OUTSIDE_RENEWAL_WINDOW",
        "QUOTE_EXPIRED",
        "QUOTE_STALE",
        "IDEMPOTENCY_KEY_REUSED",
        "PAYMENT_DECLINED",
        "PROMO_CODE_INVALID",
        "PROMO_CODE_NOT_STARTED",
        "PROMO_CODE_EXPIRED",
        "PROMO_CODE_EXHAUSTED",
        "PROMO_CODE_NOT_FOR_PLAN",
        "PROMO_CODE_WRONG_CURRENCY",
        "PROMO_CODE_TAKEN",
        "PROVIDER_UNAVAILABLE",
        "PROVIDER_REJECTED",
        "RATE_LIMITED",
        "QUERY_TOO_COMPLEX",
    }
    assert sorted(contract - {code.value for code in ErrorCode}) == []


def test_domain_error_is_a_comparable_exception() -> None:
    error = DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, "No.")
    assert isinstance(error, Exception)
    assert error == DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, "No.")
    assert str(error) == "PLAN_NOT_ELIGIBLE: No."


def test_domain_error_survives_pickling() -> None:
    error = DomainError(code=ErrorCode.QUOTE_STALE, message="Prices moved.")
    assert pickle.loads(pickle.dumps(error)) == error
