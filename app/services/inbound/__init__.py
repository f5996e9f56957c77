"""Webhooks in: events the billing provider pushes, handled without trusting them.

A delivery is verified and read by the vendor's route (app/http), which turns the vendor's
event type into a neutral `ObjectKind` and the ref of the object it is about. `receive`
stores it once per event id with an outbox message, in one transaction; the worker's
`webhook.process` handler then reads the object's CURRENT state from the billing provider
by its ref and refreshes the local copy (`invoices`, `accounts`, `subscriptions`). An
event's payload and the order events arrive in are never trusted: a late or replayed event
refreshes to the same current state, so events may be handled in any order.

Import from the modules; this package imports nothing.
"""
