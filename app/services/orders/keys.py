"""The idempotency keys of an order's calls to the billing provider and its follow-up work:
one home for the scheme, so a resumed order (its client's retry or the recovery job) sends
exactly the keys of its first attempt and the provider replays what it already did."""

from __future__ import annotations


def _key(order_id: int, step: str) -> str:
    return f"order:{order_id}:{step}"


def invoice(order_id: int) -> str:
    return _key(order_id, "invoice")


def payment(order_id: int) -> str:
    return _key(order_id, "payment")


def void(order_id: int) -> str:
    """Voiding the order's provider invoice when the order fails before it was paid."""
    return _key(order_id, "void")


def refund(order_id: int) -> str:
    """Refunding the order's payment when the order fails after it was paid."""
    return _key(order_id, "refund")


def provision(order_id: int) -> str:
    return _key(order_id, "provision")


def billing_sync(order_id: int) -> str:
    return _key(order_id, "billing")
