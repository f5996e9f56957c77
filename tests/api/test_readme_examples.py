"""The documentation's GraphQL examples work on the demo a new user gets from `make run`: every
```graphql block of README.md and docs/*.md (README.md first, then the guides in the order a
reader follows them, then any other page by name), each operation in that order, sent as the
principal its section names, with the variables the text says to paste from the answers
before it, against a freshly seeded demo. An example the table below does not know fails the
test, so a new example gets checked too. The reference pages outside that walkthrough (one
feature each, often for principals the demo has no token for) have their examples validated
against the schema instead, so a renamed field or type still fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.services.demo import demo_tokens, seed_demo
from schema import strawberry_internals
from schema.build import schema
from tests.support.graphql import Api

ROOT = Path(__file__).resolve().parents[2]
# The pages whose examples build on one another, in reading order; other pages follow by name.
ORDERED = ("README.md", "docs/api-guide.md", "docs/providers.md")


def documents() -> list[Path]:
    ordered = [ROOT / name for name in ORDERED]
    return ordered + sorted(set((ROOT / "docs").glob("*.md")) - set(ordered))


_BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^#{2,3} ", re.M)

Answers = dict[str, dict[str, Any]]  # operation name -> its `data`


@dataclass(frozen=True)
class Example:
    name: str
    document: str  # the whole block: the operation is picked by name
    section: str  # the page's text from the block's heading to the block
    walkthrough: bool  # on a page of ORDERED: run in order on the demo


def readme_examples() -> list[Example]:
    examples = []
    for page in documents():
        text = page.read_text()
        for match in _BLOCK.finditer(text):
            starts = (h.start() for h in _HEADING.finditer(text, 0, match.start()))
            heading = max(starts, default=0)
            for definition in parse(match.group(1)).definitions:
                assert isinstance(definition, OperationDefinitionNode)
                assert definition.name is not None, f"name every operation: {match.group(1)}"
                section = text[heading : match.start()]
                examples.append(
                    Example(
                        definition.name.value,
                        match.group(1),
                        section,
                        walkthrough=page.relative_to(ROOT).as_posix() in ORDERED,
                    )
                )
    return examples


def _root(data: dict[str, Any]) -> dict[str, Any]:
    (value,) = data.values()
    assert isinstance(value, dict)
    return value


def _codes(data: dict[str, Any]) -> list[str]:
    """The UserError codes the root fields answered with."""
    return [value["code"] for value in data.values() if "code" in (value or {})]


def _answered(data: dict[str, Any]) -> None:
    """No more to check than that it answered without errors."""


def _dashboard(data: dict[str, Any]) -> None:
    numbers = [node["number"] for node in data["subscriptions"]["nodes"]]
    assert (data["viewer"]["name"], numbers[0]) == ("Alice Owner", "A-S00000001")


def _premium(data: dict[str, Any]) -> None:
    subscription = data["subscription"]
    assert (subscription["plan"]["code"], subscription["actions"]["canUpgrade"]) == (
        "premium",
        True,
    )


def _upgrade_quote(data: dict[str, Any]) -> None:
    """A credit for the unused Premium days and a charge for Ultimate over the same days."""
    lines = _root(data)["lines"]
    assert [line["kind"] for line in lines[:2]] == ["CREDIT", "CHARGE"], lines
    assert lines[0]["amount"]["formatted"].startswith("-"), lines


def _upgrade_placed(data: dict[str, Any]) -> None:
    order = _root(data)["order"]
    assert (order["status"], order["subscription"]["plan"]["code"]) == ("COMPLETED", "ultimate")
    assert order["invoice"]["pdfUrl"].endswith(f"/invoices/{order['invoice']['number']}.pdf")


def _promotion_quoted(data: dict[str, Any]) -> None:
    """5 Ultimate seats for 212 of 365 days: 5 x 118 800 x 212 / 365 = 345 007.67 -> 345 008,
    and 10% of it, 34 500.8 -> 34 501 off."""
    quote = _root(data)
    lines = [
        (line["kind"], line["description"], line["amount"]["formatted"]) for line in quote["lines"]
    ]
    assert lines[1:] == [("DISCOUNT", "Promotion WELCOME10: 10% off", "-$345.01")], lines
    assert (lines[0][2], quote["total"]["formatted"]) == ("$3,450.08", "$3,105.07"), quote


def _declined(data: dict[str, Any]) -> None:
    assert _root(data)["declineCode"] == "insufficient_funds"


def _activated(data: dict[str, Any]) -> None:
    answer = _root(data)
    assert (answer["license"]["planCode"], answer["license"]["seats"]) == ("premium", 20)


GLOBEX_OPEN_INVOICE = "INV-000005"  # its Q3 reconciliation, seeded OPEN after a decline


def _globex_billing(data: dict[str, Any]) -> None:
    [membership] = data["viewer"]["memberships"]
    [account] = membership["customer"]["billingAccounts"]
    assert account["paymentMethod"] == "pm_card_insufficient_funds", account
    numbers = [node["number"] for node in data["invoices"]["nodes"]]
    assert GLOBEX_OPEN_INVOICE in numbers, numbers


def _globex_invoice(answers: Answers) -> dict[str, Any]:
    nodes = answers["GlobexBilling"]["invoices"]["nodes"]
    [invoice] = [node for node in nodes if node["number"] == GLOBEX_OPEN_INVOICE]
    return {"invoiceId": invoice["id"]}


def _globex_account(answers: Answers) -> dict[str, Any]:
    [membership] = answers["GlobexBilling"]["viewer"]["memberships"]
    return {"accountId": membership["customer"]["billingAccounts"][0]["id"]}


def _card_set(data: dict[str, Any]) -> None:
    assert _root(data)["billingAccount"]["paymentMethod"] == "pm_card_visa"


def _paid_now(data: dict[str, Any]) -> None:
    answer = _root(data)
    assert answer["invoice"]["number"] == GLOBEX_OPEN_INVOICE
    assert (answer["invoice"]["status"], answer["payment"]["status"]) == ("PAID", "SUCCEEDED")
    # 3 seats x $348 x 1/4 = $261.00, plus 20% tax
    assert answer["invoice"]["amountPaid"]["formatted"] == "$313.20", answer


def _history(data: dict[str, Any]) -> None:
    """The upgrade placed above, by the caller, with its total."""
    orders = [n for n in data["subscription"]["history"]["nodes"] if n["kind"] == "ORDER"]
    assert orders[0]["actor"] == {"kind": "YOU", "name": "you"}, orders
    assert (orders[0]["action"], orders[0]["status"]) == ("order.placed", "COMPLETED"), orders
    assert orders[0]["amount"]["formatted"].startswith("$"), orders


@dataclass(frozen=True)
class Step:
    principal: str | None  # a `fulfillment demo-tokens` key; None: no bearer token
    named_as: str  # how the section names that principal
    variables: Callable[[Answers], dict[str, Any]] = field(default=lambda answers: {})
    check: Callable[[dict[str, Any]], None] = _answered
    twice: bool = False  # the text says running it again gives the same answer
    refusal: str | None = None  # the UserError code the text promises


def _id_of(operation: str) -> Callable[[Answers], dict[str, Any]]:
    return lambda answers: {"id": answers[operation]["subscription"]["id"]}


def _token_of(operation: str) -> Callable[[Answers], dict[str, Any]]:
    return lambda answers: {"token": _root(answers[operation])["token"]}


STEPS: dict[str, Step] = {
    "Dashboard": Step("owner", "owner's token", check=_dashboard),
    "Premium": Step("owner", "`owner` token", check=_premium),
    "Quote": Step("owner", "`owner` token", _id_of("Premium"), _upgrade_quote),
    "Place": Step("owner", "`owner` token", _token_of("Quote"), _upgrade_placed, twice=True),
    "QuoteWithPromotion": Step("owner", "`owner`", _id_of("Premium"), _promotion_quoted),
    "Globex": Step("other_customer_owner", "`other_customer_owner`"),
    "QuoteRenewal": Step("other_customer_owner", "`other_customer_owner`", _id_of("Globex")),
    "PlaceRenewal": Step(
        "other_customer_owner",
        "`other_customer_owner`",
        _token_of("QuoteRenewal"),
        _declined,
        refusal="PAYMENT_DECLINED",
    ),
    "GlobexBilling": Step("other_customer_owner", "`other_customer_owner`", check=_globex_billing),
    "PayNow": Step(
        "other_customer_owner",
        "`other_customer_owner`",
        _globex_invoice,
        _declined,
        twice=True,
        refusal="PAYMENT_DECLINED",
    ),
    "SetCard": Step(
        "other_customer_owner", "`other_customer_owner`", _globex_account, _card_set, twice=True
    ),
    "PayNowAgain": Step(
        "other_customer_owner", "`other_customer_owner`", _globex_invoice, _paid_now, twice=True
    ),
    "History": Step("owner", "`owner` token", check=_history),
    "ReportSeats": Step("service", "`service` token"),
    "ReportMinutes": Step("service", "`service` token"),
    "Activate": Step(None, "no bearer token", check=_activated),
    "Sync": Step(
        None, "no bearer token", lambda answers: {"key": _root(answers["Activate"])["licenseKey"]}
    ),
    "Advance": Step("admin", "`admin` token"),
}


@pytest.fixture
def clock() -> FixedClock:
    """The demo is seeded as of this moment; the examples' dates are after it."""
    return FixedClock(datetime(2027, 1, 12, 9, tzinfo=UTC))


def walkthrough() -> list[Example]:
    return [example for example in readme_examples() if example.walkthrough]


def test_every_readme_example_is_known() -> None:
    names = [example.name for example in readme_examples()]

    assert len(names) == len(set(names)), names
    assert [example.name for example in walkthrough()] == list(STEPS)
    for example in walkthrough():
        assert STEPS[example.name].named_as in example.section, example.name


def test_the_reference_pages_examples_fit_the_schema() -> None:
    graphql = strawberry_internals.graphql_schema(schema)
    reference = [example for example in readme_examples() if not example.walkthrough]

    assert reference, "the reference pages have examples"
    for example in reference:
        assert validate(graphql, parse(example.document)) == [], example.name


async def test_the_readme_examples_run_on_the_demo(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    await seed_demo(db, settings, clock)
    tokens = demo_tokens(settings, datetime.now(UTC))
    answers: Answers = {}
    for example in walkthrough():
        step = STEPS[example.name]
        token = None if step.principal is None else tokens[step.principal]
        body = {
            "query": example.document,
            "operationName": example.name,
            "variables": step.variables(answers),
        }
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        runs = 2 if step.twice else 1
        results = [(await api.client.post("/graphql", json=body, headers=headers)).json()
                   for _ in range(runs)]  # fmt: skip

        assert "errors" not in results[0], (example.name, results[0]["errors"])
        expected = [step.refusal] if step.refusal else []
        assert _codes(results[0]["data"]) == expected, (example.name, results[0]["data"])
        step.check(results[0]["data"])
        assert all(r["data"] == results[0]["data"] for r in results), (example.name, results)
        answers[example.name] = results[0]["data"]
    # The declined renewal changed nothing: Globex is still in grace.
    globex = {"query": '{ subscription(number: "A-S00000004") { status } }'}
    owner = {"Authorization": f"Bearer {tokens['other_customer_owner']}"}
    after = (await api.client.post("/graphql", json=globex, headers=owner)).json()
    assert after["data"]["subscription"]["status"] == "GRACE"


async def test_the_readme_invoice_downloads_as_the_owner(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    path = re.search(
        r"`GET (/invoices/INV-\d{6}\.pdf)` with the same bearer token",
        "".join(page.read_text() for page in documents()),
    )
    assert path is not None
    await seed_demo(db, settings, clock)
    owner = demo_tokens(settings, datetime.now(UTC))["owner"]

    response = await api.client.get(path.group(1), headers={"Authorization": f"Bearer {owner}"})

    assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
