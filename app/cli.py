"""The `fulfillment` command: serve, migrate, seed-demo, worker, demo-tokens, demo-card,
documents."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

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
    worker = commands.add_parser("worker", help="run background jobs and the outbox")
    worker.add_argument(
        "--once", action="store_true", help="process everything due now, then exit (for cron)"
    )
    worker.add_argument(
        "--interval",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="pause between passes when nothing was due (default: 5)",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve this worker's metrics on http://HOST:PORT/metrics (no token)",
    )
    worker.add_argument(
        "--metrics-host", default="127.0.0.1", metavar="HOST", help="(default: 127.0.0.1)"
    )
    worker.set_defaults(run=_worker)
    commands.add_parser(
        "demo-tokens", help="print demo bearer tokens as JSON (development only)"
    ).set_defaults(run=_demo_tokens)
    card = commands.add_parser(
        "demo-card",
        help="put a test card on the account paying for a subscription (development only)",
    )
    card.add_argument("subscription", help="its number, e.g. A-S00000001")
    card.add_argument("card", help="pm_card_visa, pm_card_mastercard, pm_card_declined, ...")
    card.set_defaults(run=_demo_card)
    commands.add_parser(
        "license-public-key", help="print the public key (PEM) that verifies license keys"
    ).set_defaults(run=_license_public_key)
    documents = commands.add_parser("documents", help="trusted documents (persisted operations)")
    register = documents.add_subparsers(required=True, metavar="ACTION").add_parser(
        "register", help="check and register every .graphql file of a folder; prints the ids"
    )
    register.add_argument("folder", type=Path)
    register.set_defaults(run=_register_documents)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.serve_check import ServeRefused, preflight

    try:
        plan = asyncio.run(preflight(settings, args.workers))
    except ServeRefused as exc:
        print(f"fulfillment serve: {exc}", file=sys.stderr)
        return 2
    print(f"fulfillment serve: {plan.describe()}", file=sys.stderr)
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


def _positive_seconds(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError("give a number of seconds between 0 and 3600")
    return seconds


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the periodic jobs and the outbox until SIGINT/SIGTERM (the current round finishes;
    a second signal stops at once), or with --once until nothing is due."""
    from app.observability.logs import configure_logging
    from app.services.worker.runner import run_worker

    configure_logging(settings)
    try:
        address = None if args.metrics_port is None else (args.metrics_host, args.metrics_port)
        worker = run_worker(
            settings, once=args.once, interval=args.interval, metrics_address=address
        )
        return asyncio.run(worker)
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130


def _demo_tokens(settings: Settings, args: argparse.Namespace) -> int:
    from app.clock import SystemClock
    from app.services.demo.tokens import demo_tokens

    if settings.is_production:
        print("demo-tokens is for development only", file=sys.stderr)
        return 2
    print(json.dumps(demo_tokens(settings, SystemClock().now()), indent=2))
    return 0


def _demo_card(settings: Settings, args: argparse.Namespace) -> int:
    from app.domain.errors import DomainError
    from app.runtime import build_runtime
    from app.services.demo.cards import set_demo_card

    if settings.is_production:
        print("demo-card is for development only", file=sys.stderr)
        return 2

    async def run() -> str:
        runtime = build_runtime(settings)
        try:
            change = await set_demo_card(runtime, args.subscription, args.card)
        finally:
            await runtime.aclose()
        return f"{change.account}: {change.before} -> {change.after}"

    try:
        print(asyncio.run(run()))
    except DomainError as exc:
        print(f"demo-card: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _license_public_key(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.license_keys import signer

    print(signer(settings).public_key_pem, end="")
    return 0


def _register_documents(settings: Settings, args: argparse.Namespace) -> int:
    """All or nothing: one invalid file and nothing is registered (exit status 1)."""
    from app.main import checked_documents
    from app.services.trusted_documents import InvalidDocuments, register_in_database

    try:
        sources = checked_documents(args.folder, settings)
    except InvalidDocuments as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print("nothing registered", file=sys.stderr)
        return 1
    for registration in asyncio.run(register_in_database(settings, sources)):
        state = "registered" if registration.created else "already registered"
        print(f"{registration.document_id}  {registration.name}  {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
