"""The `fulfillment` command: serve, migrate, seed-demo, worker, demo-tokens."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from app.config import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    result: int = args.run(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fulfillment", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    commands.add_parser("seed-demo", help="load the demo catalog and data").set_defaults(
        run=_seed_demo
    )
    commands.add_parser("worker", help="run background jobs and the outbox").set_defaults(
        run=_worker
    )
    commands.add_parser(
        "demo-tokens", help="print demo bearer tokens as JSON (development only)"
    ).set_defaults(run=_demo_tokens)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.migrate import upgrade

    upgrade()
    return 0


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.demo.runner import seed_demo_database

    summary = asyncio.run(seed_demo_database(settings))
    state = "loaded" if summary.created else "already present"
    print(
        f"demo data {state}: {summary.customers} customers, {summary.partners} partners, "
        f"{summary.subscriptions} subscriptions, {summary.invoices} invoices"
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    print("worker: no background jobs are defined yet (they arrive with the lifecycle work)")
    return 0


def _demo_tokens(settings: Settings, args: argparse.Namespace) -> int:
    from app.clock import SystemClock
    from app.services.demo.tokens import demo_tokens

    if settings.is_production:
        print("demo-tokens is for development only", file=sys.stderr)
        return 2
    print(json.dumps(demo_tokens(settings, SystemClock().now()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
