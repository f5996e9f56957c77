"""Metrics, structured logs and optional traces (README "Observability")."""
