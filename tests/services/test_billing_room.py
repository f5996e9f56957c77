"""The billing room (app/services/billing/): no module outside it writes to the billing
provider, each write has one call site inside it (where a new adapter plugs in), and the
idempotency keys are the strings the providers' ledgers already hold."""

from __future__ import annotations

import ast
import inspect
from datetime import date
from pathlib import Path

from app.providers.billing import BillingProvider
from app.providers.billing.protocol import ClockedBilling
from app.services.billing import keys

ROOT = Path(__file__).resolve().parents[2]
ROOM = ROOT / "app" / "services" / "billing"
PROVIDERS = ROOT / "app" / "providers"  # the implementations and their adapters
LAYERS = ("app", "resolvers", "schema")


def _writes() -> frozenset[str]:
    """The provider's writes: every method of the protocol that takes an idempotency key."""
    return frozenset(
        name
        for name, method in inspect.getmembers(BillingProvider, inspect.isfunction)
        if "idempotency_key" in inspect.signature(method).parameters
    )


def _uses(source: str, names: frozenset[str]) -> list[tuple[int, str]]:
    """Where the source uses one of the methods: called (`x.collect_payment(...)`), taken
    from a billing provider (`pay = deps.billing.collect_payment`), or by name
    (`getattr(x, "collect_payment")`). A field of that name that is only read, such as an
    order action's `create_subscription`, is no use of the provider."""
    tree = ast.parse(source)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            if id(node) in called or "billing" in ast.unparse(node.value):
                found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append((node.lineno, str(node.args[1].value)))
    return sorted(found)


def _sources(*, inside_room: bool) -> dict[Path, str]:
    files = [path for layer in LAYERS for path in (ROOT / layer).rglob("*.py")]
    return {
        path: path.read_text()
        for path in files
        if path.is_relative_to(ROOM) == inside_room and not path.is_relative_to(PROVIDERS)
    }


def test_the_writes_are_the_protocols_keyed_methods() -> None:
    assert _writes() == {
        "create_account",
        "set_payment_method",
        "create_subscription",
        "amend_subscription",
        "renew_subscription",
        "cancel_subscription",
        "reactivate_subscription",
        "create_invoice",
        "collect_payment",
        "void_invoice",
        "refund_payment",
    }


def test_the_check_finds_a_write_however_it_is_spelled() -> None:
    source = """
async def f(runtime, deps, billing):
    await runtime.providers.billing.collect_payment("inv", "pm", idempotency_key="k")
    refund = deps.billing.refund_payment
    await getattr(billing, "void_invoice")("inv", idempotency_key="k")
    await billing.get_invoices(["inv"])  # a read
    return action.create_subscription  # a field of that name
"""
    assert _uses(source, _writes()) == [
        (3, "collect_payment"),
        (4, "refund_payment"),
        (5, "void_invoice"),
    ]


def test_no_module_outside_the_billing_room_writes_to_the_billing_provider() -> None:
    writes = _writes()
    outside = {
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path, source in _sources(inside_room=False).items()
        for line, name in _uses(source, writes)
    }
    assert outside == set(), "call app/services/billing/ instead"


def test_moving_the_providers_test_clocks_is_a_write_of_the_billing_room() -> None:
    """The optional capability changes the provider's state (its clocks and what falls due on
    them): one call site, in the room (app/services/billing/clocks.py)."""
    capability = frozenset(
        name
        for name, _ in inspect.getmembers(ClockedBilling, inspect.isfunction)
        if not name.startswith("_")
    )
    assert capability == {"advance_test_clocks"}
    sites = [
        f"{path.relative_to(ROOT)}:{line}"
        for inside in (True, False)
        for path, source in _sources(inside_room=inside).items()
        for line, _ in _uses(source, capability)
    ]
    assert [site.split(":")[0] for site in sites] == ["app/services/billing/clocks.py"], sites


def test_each_write_has_one_call_site_in_the_billing_room() -> None:
    writes = _writes()
    sites: dict[str, list[str]] = {name: [] for name in writes}
    for path, source in _sources(inside_room=True).items():
        for line, name in _uses(source, writes):
            sites[name].append(f"{path.relative_to(ROOT)}:{line}")
    assert {name: len(found) for name, found in sites.items()} == dict.fromkeys(writes, 1), sites


def test_the_keys_are_the_strings_the_ledgers_hold() -> None:
    term = date(2027, 1, 1)
    message = "subscription:7:v3:billing"
    assert [
        keys.account(4),
        keys.demo_card(4, "abc"),
        keys.order_invoice(12),
        keys.order_payment(12),
        keys.order_void(12),
        keys.order_refund(12),
        keys.order_sync(12),
        keys.renewal(7, term),
        keys.reconciliation(9),
        keys.charge_invoice("renewal:7:2027-01-01"),
        keys.charge_payment("renewal:7:2027-01-01", 2),
        keys.renewed_term("renewal:7:2027-01-01"),
        keys.sync_message("renewal:5"),
        keys.subscription_change_sync(7, 3),
        keys.subscription_create(7),
        keys.subscription_term(7, term),
        keys.amendment(message, "0123456789abcdef"),
        keys.cancel(message),
        keys.reactivate(message),
        keys.credit_note_refund(5),
        keys.invoice_void(8),
    ] == [
        "billing-account:4",
        "demo-card:4:abc",
        "order:12:invoice",
        "order:12:payment",
        "order:12:void",
        "order:12:refund",
        "order:12:billing",
        "renewal:7:2027-01-01",
        "reconciliation:9",
        "renewal:7:2027-01-01:invoice",
        "renewal:7:2027-01-01:payment:2",
        "renewal:7:2027-01-01:subscription",
        "renewal:5:billing",
        "subscription:7:v3:billing",
        "subscription:7:billing",
        "subscription:7:term:2027-01-01",
        "subscription:7:v3:billing:0123456789abcdef",
        "subscription:7:v3:billing:cancel",
        "subscription:7:v3:billing:reactivate",
        "credit-note:5:refund",
        "invoice:8:void",
    ]
