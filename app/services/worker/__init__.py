"""The background worker: periodic jobs and the outbox, run by `fulfillment worker`.

- `jobs`: the `Job` protocol and `JOBS`, the jobs every pass runs (the outbox for now).
- `outbox`: claims due messages under a lease and carries each out through its handler.
- `handlers`: one handler per outbox topic (`HANDLERS`); billing sync runs app/services/billing/.
- `runner`: `Worker` (passes, loop, graceful stop) and `run_worker` for the CLI.

Import from the modules; this package imports nothing, so handlers can import services
that in turn know nothing of the worker.
"""
