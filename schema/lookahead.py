"""What the selection under a list field asks of its items, for resolvers.prefetch.

Reads strawberry's `info.selected_fields` (the document below the current field, fragments
included, arguments with variables applied) and names the edges whose loaders are worth
filling for the whole list at once. Fragments count whatever their type condition: at worst
a list loads an edge nobody reads, never misses one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from app.db.pagination import PageRequest
from resolvers.errors import PublicError
from resolvers.ids import DEFAULT_PAGE_SIZE, page_request
from resolvers.prefetch import InvoiceNeeds, SubscriptionNeeds

# GraphQL name -> Python name of the Subscription edges resolvers.prefetch knows.
_SUBSCRIPTION_EDGES = {
    "addOns": "add_ons",
    "consumables": "consumables",
    "license": "license",
    "provisioning": "provisioning",
    "customer": "customer",
    "deployment": "deployment",
    "billingAccount": "billing_account",
    "soldBy": "sold_by",
    "pendingChange": "pending_change",
    "actions": "actions",
}


def fields(selections: Iterable[Selection]) -> list[SelectedField]:
    """The fields of a selection set, with those of its fragments."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            found.extend(fields(selection.selections))
    return found


def children(parents: Iterable[SelectedField], name: str) -> list[SelectedField]:
    return [
        child for parent in parents for child in fields(parent.selections) if child.name == name
    ]


def list_items(connection_or_list: Sequence[SelectedField]) -> list[SelectedField]:
    """The item selections of a connection (`nodes`, `edges { node }`)."""
    return children(connection_or_list, "nodes") + children(
        children(connection_or_list, "edges"), "node"
    )


def current(info: Any) -> list[SelectedField]:
    """The current field's own selection (once per list: strawberry converts on each call)."""
    return list(fields(info.selected_fields))


def subscription_needs(items: Sequence[SelectedField]) -> SubscriptionNeeds:
    names = {child.name for child in fields(s for item in items for s in item.selections)}
    add_ons = children(items, "addOns")
    consumables = children(items, "consumables")
    return SubscriptionNeeds(
        edges=frozenset(_SUBSCRIPTION_EDGES[name] for name in names if name in _SUBSCRIPTION_EDGES),
        add_on_products=bool(children(add_ons, "product")),
        assigned_seats=bool(children(add_ons, "assignedSeats")),
        consumable_products=bool(children(consumables, "product")),
        invoice_pages=_invoice_pages(children(items, "invoices")),
    )


def invoice_needs(items: Sequence[SelectedField]) -> InvoiceNeeds:
    names = {child.name for child in fields(s for item in items for s in item.selections)}
    return InvoiceNeeds(
        lines="lines" in names,
        payments="payments" in names,
        customer="customer" in names,
        billing_account="billingAccount" in names,
    )


def _invoice_pages(
    connections: Sequence[SelectedField],
) -> tuple[tuple[PageRequest, InvoiceNeeds], ...]:
    pages: dict[PageRequest, InvoiceNeeds] = {}
    for connection in connections:
        request = _page(connection.arguments, descending=True)
        if request is None:
            continue
        needs = invoice_needs(list_items([connection]))
        known = pages.get(request)
        pages[request] = needs if known is None else _either(known, needs)
    return tuple(pages.items())


def _page(arguments: dict[str, Any], *, descending: bool) -> PageRequest | None:
    """The page the field will ask for; None when its arguments are bad (the field reports)."""
    # Strawberry hands literals over as their source text ("3"), variables as their values.
    first, after = arguments.get("first", DEFAULT_PAGE_SIZE), arguments.get("after")
    try:
        first = int(first) if isinstance(first, str) else first
        return page_request(first, after, descending=descending)
    except (PublicError, TypeError, ValueError):
        return None


def _either(a: InvoiceNeeds, b: InvoiceNeeds) -> InvoiceNeeds:
    return InvoiceNeeds(
        lines=a.lines or b.lines,
        payments=a.payments or b.payments,
        customer=a.customer or b.customer,
        billing_account=a.billing_account or b.billing_account,
    )
