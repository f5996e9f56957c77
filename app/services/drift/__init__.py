"""Drift detection and repair between the local database, the billing provider and the CRM
(README "Drift detection"; the policy is app/domain/drift.py)."""
