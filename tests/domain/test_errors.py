import pickle

from app.domain.errors import DomainError, ErrorCode


def test_codes_are_their_names() -> None:
    assert all(code.value == code.name for code in ErrorCode)
    assert len(ErrorCode) == 24


def test_domain_error_is_a_comparable_exception() -> None:
    error = DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, "No.")
    assert isinstance(error, Exception)
    assert error == DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, "No.")
    assert str(error) == "PLAN_NOT_ELIGIBLE: No."


def test_domain_error_survives_pickling() -> None:
    error = DomainError(code=ErrorCode.QUOTE_STALE, message="Prices moved.")
    assert pickle.loads(pickle.dumps(error)) == error
