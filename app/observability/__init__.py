"""Metrics, structured logs and optional traces (docs/operations.md "Observability")."""
