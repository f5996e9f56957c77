"""The billing room: every write to the billing provider goes through this package, so the
idempotency-key scheme has one home and a provider adapter plugs in at one place
(`app.providers.registry`). A test (tests/services/test_billing_room.py) fails when a module
outside it calls a provider write.

- `keys`: every idempotency key sent to the provider.
- `accounts`: the paying account there, created once; its payment method.
- `invoices`: the local invoice with its lines, written once; the provider's request for it.
- `charging`: issue at the provider once per key, collect once per key and attempt (`Charged`).
- `outcomes`: the provider's answers recorded locally (ref, payment row, PAID/VOID/REFUNDED).
- `reversal`: void an unpaid invoice or refund its payment (order settlement, a lapsed
  renewal's invoice); one paid with no payment to refund is an outcome for review. Staff's
  credit notes and voids (app/services/payments/) refund and void through it too.
- `subscriptions`: the billing sync of a subscription (create, amend, renew, cancel).
- `invoice_sync`: the local invoices checked against the provider's copies.
- `clocks`: the provider's test clocks moved with the app's test clock.

Import from the modules; this package imports nothing.
"""
