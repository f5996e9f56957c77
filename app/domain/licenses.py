"""Cloud licenses of self-managed subscriptions (docs/domain.md 8): activation codes, the claims a
license key carries, and the usage an instance reports. Pure: making and checking the
signature is app/services/license_keys.py's job.

A license key is `base64url(claims) "." base64url(signature)`, without padding; the claims are
the canonical JSON below (sorted keys, no blanks), and the signature is Ed25519 over the ASCII
of the first segment, so an instance verifies it offline with the published public key."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from app.domain.errors import DomainError, ErrorCode

# Upper-case letters and digits without the look-alikes 0/O and 1/I: 32 symbols, 5 bits each,
# so a code holds 120 random bits.
ACTIVATION_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ACTIVATION_CODE_LENGTH = 24
MAX_INSTANCE_ID_LENGTH = 64
MAX_INSTANCE_NAME_LENGTH = 200
CLAIMS_VERSION = 1
# Far above any real key (a few hundred characters); longer input is refused unread.
MAX_LICENSE_KEY_LENGTH = 8192
MAX_ADD_ON_METRICS = 50
MAX_ADD_ON_CODE_LENGTH = 64


def new_activation_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """24 symbols drawn independently from the unambiguous alphabet."""
    return "".join(choice(ACTIVATION_CODE_ALPHABET) for _ in range(ACTIVATION_CODE_LENGTH))


def normalize_activation_code(raw: str) -> str | None:
    """The code as stored, from the code as typed (blanks and dashes dropped, any case);
    None when it cannot be a code at all."""
    cleaned = "".join(raw.split()).replace("-", "").upper()
    if len(cleaned) != ACTIVATION_CODE_LENGTH or not (cleaned.isascii() and cleaned.isalnum()):
        return None
    return cleaned


def clean_instance_id(raw: str) -> str:
    cleaned = raw.strip()
    if not cleaned or len(cleaned) > MAX_INSTANCE_ID_LENGTH or not cleaned.isprintable():
        raise DomainError(
            ErrorCode.VALIDATION,
            f"`instanceId` must be 1 to {MAX_INSTANCE_ID_LENGTH} printable characters.",
        )
    return cleaned


def clean_instance_name(raw: str | None) -> str | None:
    cleaned = (raw or "").strip()
    if len(cleaned) > MAX_INSTANCE_NAME_LENGTH or not cleaned.isprintable():
        raise DomainError(
            ErrorCode.VALIDATION,
            f"`instanceName` must be at most {MAX_INSTANCE_NAME_LENGTH} printable characters.",
        )
    return cleaned or None


# One answer for an unknown code, a code of an ended subscription and one of a SaaS
# deployment: the caller learns nothing about which codes exist.
CODE_NOT_FOUND = DomainError(
    ErrorCode.NOT_FOUND,
    "This activation code is not valid, or its subscription is not active.",
)


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    """An activation as asked for, checked before any lookup."""

    activation_code: str
    instance_id: str
    instance_name: str | None = None

    @classmethod
    def checked(
        cls, activation_code: str, instance_id: str, instance_name: str | None = None
    ) -> ActivationRequest:
        """VALIDATION for a bad instance id or name; NOT_FOUND for what cannot be a code."""
        cleaned_id = clean_instance_id(instance_id)
        cleaned_name = clean_instance_name(instance_name)
        code = normalize_activation_code(activation_code)
        if code is None:
            raise CODE_NOT_FOUND
        return cls(code, cleaned_id, cleaned_name)


def add_on_totals(purchases: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Add-on code -> seats bought, summed over its purchases, in code order."""
    totals: dict[str, int] = {}
    for code, quantity in purchases:
        totals[code] = totals.get(code, 0) + quantity
    return dict(sorted(totals.items()))


class InvalidLicenseKey(ValueError):
    """The token is not a well-formed license key (the reason is for logs, never for callers)."""


@dataclass(frozen=True, slots=True)
class LicenseClaims:
    """What a license key grants, to which instance, signed with which key."""

    license_id: int
    subscription_number: str
    plan_code: str
    seats: int
    trial: bool
    term_start: date
    term_end: date
    add_ons: Mapping[str, int]
    instance_id: str
    issued_at: datetime
    key_id: str
    version: int = field(default=CLAIMS_VERSION)
    # An offline (air-gapped) license file's key: never used for sync. Only written when
    # true, so the keys of cloud licenses read as they always did.
    offline: bool = False

    def as_json(self) -> dict[str, Any]:
        found = self._json()
        return found | {"offline": True} if self.offline else found

    def _json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "key_id": self.key_id,
            "license_id": self.license_id,
            "subscription_number": self.subscription_number,
            "plan_code": self.plan_code,
            "seats": self.seats,
            "trial": self.trial,
            "term_start": self.term_start.isoformat(),
            "term_end": self.term_end.isoformat(),
            "add_ons": dict(sorted(self.add_ons.items())),
            "instance_id": self.instance_id,
            "issued_at": _timestamp(self.issued_at),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no blanks, UTF-8."""
        return json.dumps(
            self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LicenseClaims:
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidLicenseKey("the claims are not JSON") from exc
        if not isinstance(raw, dict):
            raise InvalidLicenseKey("the claims are not an object")
        try:
            return _claims_from_json(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidLicenseKey(f"malformed claims: {exc}") from exc

    def entitles_as(self, other: LicenseClaims) -> bool:
        """Same grant to the same instance with the same key, whenever each was issued."""
        return replace(self, issued_at=other.issued_at) == other


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _typed(raw: Mapping[str, Any], name: str, kind: type) -> Any:
    value = raw[name]
    # bool is an int in Python; a count must not be `true`.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"`{name}` must be {kind.__name__}")
    return value


def _claims_from_json(raw: Mapping[str, Any]) -> LicenseClaims:
    version = _typed(raw, "version", int)
    if version != CLAIMS_VERSION:
        raise ValueError(f"unknown claims version {version}")
    add_ons = _typed(raw, "add_ons", dict)
    for code, quantity in add_ons.items():
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise TypeError(f"add-on `{code}` must have an integer quantity")
    offline = _typed(raw, "offline", bool) if "offline" in raw else False
    issued_at = datetime.fromisoformat(_typed(raw, "issued_at", str))
    if issued_at.tzinfo is None:
        raise ValueError("issued_at has no time zone")
    return LicenseClaims(
        version=version,
        key_id=_typed(raw, "key_id", str),
        license_id=_typed(raw, "license_id", int),
        subscription_number=_typed(raw, "subscription_number", str),
        plan_code=_typed(raw, "plan_code", str),
        seats=_typed(raw, "seats", int),
        trial=_typed(raw, "trial", bool),
        term_start=date.fromisoformat(_typed(raw, "term_start", str)),
        term_end=date.fromisoformat(_typed(raw, "term_end", str)),
        add_ons=dict(sorted(add_ons.items())),
        instance_id=_typed(raw, "instance_id", str),
        issued_at=issued_at.astimezone(UTC),
        offline=offline,
    )


_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # Strict: a character outside the base64url alphabet is an error, not skipped.
    if not text or not set(text) <= _BASE64URL:
        raise InvalidLicenseKey("empty segment, or not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidLicenseKey("a segment is not base64url") from exc


def encode_payload(claims: LicenseClaims) -> str:
    """The first segment of a key: what the signature covers."""
    return _b64encode(claims.to_bytes())


def join_key(payload: str, signature: bytes) -> str:
    return f"{payload}.{_b64encode(signature)}"


@dataclass(frozen=True, slots=True)
class KeyParts:
    payload: str
    signature: bytes

    @property
    def signed_bytes(self) -> bytes:
        return self.payload.encode("ascii")

    def claims(self) -> LicenseClaims:
        return LicenseClaims.from_bytes(_b64decode(self.payload))


def split_key(token: str) -> KeyParts:
    """The segments of a key, before any signature check; InvalidLicenseKey when malformed."""
    token = token.strip()
    if len(token) > MAX_LICENSE_KEY_LENGTH:
        raise InvalidLicenseKey("too long")
    payload, dot, signature = token.partition(".")
    if not dot or "." in signature:
        raise InvalidLicenseKey("a key has exactly two segments")
    _b64decode(payload)
    return KeyParts(payload=payload, signature=_b64decode(signature))


@dataclass(frozen=True, slots=True)
class AddOnMetric:
    code: str
    assigned_seats: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What an instance reports at sync: its billable users, the most it ever had, and the
    seats assigned per add-on."""

    billable_users: int
    max_historical_users: int
    add_on_metrics: tuple[AddOnMetric, ...] = ()

    @classmethod
    def checked(
        cls,
        billable_users: int,
        max_historical_users: int,
        add_on_metrics: Sequence[AddOnMetric] = (),
    ) -> UsageReport:
        """VALIDATION unless every count is >= 0 and the add-on metrics are few and named."""
        if billable_users < 0 or max_historical_users < 0:
            raise DomainError(
                ErrorCode.VALIDATION,
                "`billableUsers` and `maxHistoricalUsers` must be zero or more.",
            )
        if len(add_on_metrics) > MAX_ADD_ON_METRICS:
            raise DomainError(
                ErrorCode.VALIDATION, f"At most {MAX_ADD_ON_METRICS} add-on metrics are accepted."
            )
        metrics: list[AddOnMetric] = []
        for metric in add_on_metrics:
            code = metric.code.strip()
            if not code or len(code) > MAX_ADD_ON_CODE_LENGTH:
                raise DomainError(
                    ErrorCode.VALIDATION,
                    f"Each add-on metric needs a `code` of 1 to {MAX_ADD_ON_CODE_LENGTH} "
                    "characters.",
                )
            if metric.assigned_seats < 0:
                raise DomainError(
                    ErrorCode.VALIDATION,
                    f"`assignedSeats` of add-on `{code}` must be zero or more.",
                )
            metrics.append(AddOnMetric(code, metric.assigned_seats))
        return cls(billable_users, max_historical_users, tuple(metrics))


def synced_peak(report: UsageReport, claims: LicenseClaims, term_start: date) -> int:
    """The most users a sync proves for the subscription's current term: the billable users
    now and, when the key was issued for this term, the instance's own maximum over the
    license's term (it counts between syncs, so a peak between two syncs is owed too). A key
    of an earlier term says nothing about this one's maximum."""
    if claims.term_start != term_start:
        return report.billable_users
    return max(report.billable_users, report.max_historical_users)


# --- offline license files -------------------------------------------------------------------

OFFLINE_BEGIN = "-----BEGIN OFFLINE LICENSE-----"
OFFLINE_END = "-----END OFFLINE LICENSE-----"
OFFLINE_LINE_LENGTH = 64
MAX_OFFLINE_FILE_LENGTH = 16384


def offline_file_name(claims: LicenseClaims) -> str:
    return f"{claims.subscription_number}-{claims.issued_at.strftime('%Y%m%d')}.license"


def offline_file_text(claims: LicenseClaims, key: str) -> str:
    """The file an air-gapped instance loads: a readable header (not signed: informative
    only), then the signed key between BEGIN/END lines, wrapped at 64 characters. The
    instance verifies the key with the published public key; nothing else is trusted."""
    add_ons = ", ".join(f"{code} x{count}" for code, count in sorted(claims.add_ons.items()))
    header = [
        "Offline license (verify the key below with the vendor's Ed25519 public key)",
        f"Subscription: {claims.subscription_number}",
        f"Plan: {claims.plan_code}, {claims.seats} seats" + (" (trial)" if claims.trial else ""),
        f"Term: {claims.term_start.isoformat()} to {claims.term_end.isoformat()}",
        f"Add-ons: {add_ons or 'none'}",
        f"Instance: {claims.instance_id}",
        f"Signing key id: {claims.key_id}",
    ]
    lines = [key[i : i + OFFLINE_LINE_LENGTH] for i in range(0, len(key), OFFLINE_LINE_LENGTH)]
    return "\n".join([*header, "", OFFLINE_BEGIN, *lines, OFFLINE_END, ""])


def offline_key_of(text: str) -> str:
    """The signed key inside an offline license file; InvalidLicenseKey when there is none
    (or the file is far too large to be one)."""
    if len(text) > MAX_OFFLINE_FILE_LENGTH:
        raise InvalidLicenseKey("the file is too large")
    lines = [line.strip() for line in text.splitlines()]
    if lines.count(OFFLINE_BEGIN) != 1 or lines.count(OFFLINE_END) != 1:
        raise InvalidLicenseKey("no single BEGIN/END OFFLINE LICENSE block")
    start, end = lines.index(OFFLINE_BEGIN), lines.index(OFFLINE_END)
    if end <= start + 1:
        raise InvalidLicenseKey("the license block is empty")
    return "".join(lines[start + 1 : end])
