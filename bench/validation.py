"""What checking a document costs before it runs: parse, the edge's limits and validation.

In-process, through the real ASGI app in the production profile, as an anonymous caller on
an empty bench database (SQLite in a temporary directory), CPU time of this process
(`time.process_time`) per request:

- `large`: a first-party-sized document of about 2,000 tokens (fragments on every object
  type, spread on several aliased connections), with a text the process has not seen each
  time (so parse, validation and cost run) and with the same text again (every cache hits);
  the difference is what parsing, validating and costing it costs.
- `validation only`: the schema's validation step alone on the parsed large document
  (size limits and every rule, no cache), median of `--requests` runs: the figure to
  compare before and after a change of the rules, without HTTP, auth or parsing noise.
- `bomb k`: `fragment F<i> on Query { ...F<i-1> ...F<i-1> }` up to F<k> (the audit's fragment
  explosion, 2^k fields once expanded), a new text each time.

Run: `python -m bench.validation [--bomb-levels 10 12 14 16 30] [--requests 30]`. Levels
above 16 take minutes each on code without the expanded-size bound.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from graphql import (
    DocumentNode,
    GraphQLObjectType,
    TokenKind,
    get_named_type,
    is_leaf_type,
    parse,
    specified_rules,
)
from graphql.language import Lexer, Source
from strawberry.schema.schema import validate_document

from app.config import Settings
from app.db.engine import create_session_factory
from app.main import create_app
from app.runtime import build_runtime
from bench.database import bench_database
from schema.build import build_schema
from schema.limits import EdgeLimits

_TYPES = ("Subscription", "Invoice", "Customer", "Product", "AddOnPurchase")


def token_count(text: str) -> int:
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def _leaf_fields(type_: GraphQLObjectType) -> list[str]:
    return [
        name
        for name, field in type_.fields.items()
        if is_leaf_type(get_named_type(field.type))
        and not any(arg.type.to_kind_str() == "NON_NULL" for arg in field.args.values())
        if not name.startswith("__")
    ]


def large_document(target_tokens: int = 2000) -> str:
    """Fragments with every leaf field of the main types, spread under aliased roots until
    the document is about `target_tokens` long."""
    schema = build_schema()._schema
    fragments = []
    for name in _TYPES:
        type_ = schema.get_type(name)
        assert isinstance(type_, GraphQLObjectType)
        fragments.append(f"fragment {name}Leaves on {name} {{ {' '.join(_leaf_fields(type_))} }}")
    root = (
        "{alias}: subscriptions(first: 5) {{ nodes {{ ...SubscriptionLeaves "
        "plan {{ ...ProductLeaves }} addOns {{ ...AddOnPurchaseLeaves product {{ code }} }} "
        "customer {{ ...CustomerLeaves }} "
        "invoices(first: 3) {{ nodes {{ ...InvoiceLeaves customer {{ name }} "
        "total {{ amount currency formatted }} "
        "lines {{ description quantity amount {{ amount currency formatted }} }} }} }} "
        "seatUsage(first: 3) {{ nodes {{ reportedOn billableUsers maxBillableUsers }} }} }} }}"
    )

    def document(count: int) -> str:
        roots = "\n".join(root.format(alias=f"s{index}") for index in range(count))
        return "query Large {\n" + roots + "\n}\n" + "\n".join(fragments)

    count = 1
    while token_count(document(count + 1)) <= target_tokens:
        count += 1
    return document(count)


def bomb(levels: int) -> str:
    lines = [f"query {{ ...F{levels} }}", "fragment F0 on Query { __typename }"]
    lines += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return "\n".join(lines)


def validation_step(settings: Settings) -> Callable[[DocumentNode], list[Any]]:
    """The production schema's validation step, as this checkout defines it: the size limits
    then the rules (schema.validation), or, in code from before it, graphql-core's rules with
    strawberry's depth and alias rules (schema.limits.validation_rules)."""
    schema = build_schema(settings)._schema
    limits = EdgeLimits.of(settings)
    try:
        from schema.validation import DocumentValidator, validation_rules
    except ImportError:  # the code before schema.validation
        from schema.limits import validation_rules as old_rules

        rules = (*specified_rules, *old_rules(limits, production=True))  # type: ignore[call-arg]
        return lambda document: validate_document(schema, document, rules)
    validator = DocumentValidator(limits, hide_messages=True)
    rules = (*specified_rules, *validation_rules(production=True))
    return lambda document: validator.validate(schema, document, rules)


def _validation_ms(settings: Settings, text: str, count: int) -> float:
    step, document = validation_step(settings), parse(text)
    spent = []
    for _ in range(count):
        began = time.process_time()
        step(document)
        spent.append((time.process_time() - began) * 1000)
    return statistics.median(spent)


async def _cpu_ms(run: Callable[[int], Awaitable[Any]], count: int) -> float:
    began = time.process_time()
    for index in range(count):
        await run(index)
    return (time.process_time() - began) / count * 1000


async def measure(levels: list[int], requests: int) -> list[str]:
    async with bench_database(None) as database:
        engine = database.engine()
        runtime = build_runtime(database.settings, sessions=create_session_factory(engine))
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        lines = []
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

                async def post(text: str) -> dict[str, Any]:
                    response = await client.post("/graphql", json={"query": text})
                    body: dict[str, Any] = response.json()
                    return body

                large = large_document()
                first = await post(large)
                codes = sorted(
                    {
                        f"{e.get('extensions', {}).get('code')}: {e['message'][:80]}"
                        for e in first["errors"]
                    }
                )
                lines.append(
                    f"large document: {len(large)} bytes, {token_count(large)} tokens, "
                    f"answered with {codes}"
                )
                warm = await _cpu_ms(lambda _: post(large), requests)
                new = await _cpu_ms(lambda i: post(f"{large}\n# {i}"), requests)
                lines.append(f"  same text (all caches hit)  {warm:8.2f} ms CPU per request")
                lines.append(f"  new text each time          {new:8.2f} ms CPU per request")
                lines.append(f"  parse + limits + validation {new - warm:8.2f} ms")
                validation = _validation_ms(database.settings, large, requests)
                lines.append(f"  validation only (median)    {validation:8.2f} ms CPU")
                for level in levels:
                    body = await post(bomb(level) + "\n# warm-up")
                    spent = await _cpu_ms(lambda i, k=level: post(f"{bomb(k)}\n# {i}"), 3)
                    error = body.get("errors", [{}])[0]
                    lines.append(
                        f"bomb k={level:2d} ({len(bomb(level))} bytes): {spent:9.2f} ms CPU, "
                        f"{error.get('extensions', {}).get('code')}: "
                        f"{error.get('message', '')[:70]}"
                    )
        finally:
            await runtime.providers.aclose()
            await engine.dispose()
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bomb-levels", type=int, nargs="*", default=[10, 12, 14, 16])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    for line in asyncio.run(measure(args.bomb_levels, args.requests)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
