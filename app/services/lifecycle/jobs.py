"""The lifecycle jobs in the order a worker round runs them (before the outbox): reminders,
then reconciliation (a term's quarters close before it renews), renewals, expiry (after the
renewal's last chance in the same round)."""

from __future__ import annotations

from app.services.lifecycle.expiry import ExpiryJob
from app.services.lifecycle.notices import NoticesJob
from app.services.lifecycle.reconciliation import ReconciliationJob
from app.services.lifecycle.renewal import RenewalJob

LIFECYCLE_JOBS = (NoticesJob, ReconciliationJob, RenewalJob, ExpiryJob)
