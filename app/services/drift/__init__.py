"""Drift detection and repair between the local database, the billing provider and the CRM
(docs/operations.md "Drift detection"; the policy is app/domain/drift.py)."""
