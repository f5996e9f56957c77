"""Catalog rows kept for the life of the process.

A published product or price row never changes: a new price, plan or pack is a new version
(a new `product` row with its own id, `(code, version)` unique) and nothing updates or
deletes catalog rows. An id therefore always means the same row, so rows looked up by id
can be kept without going stale, and every process may keep its own copy. What does change,
which products are `active` (the `products` list, the plan tier bounds, what orders may buy),
is never answered from here. Should catalog rows ever become editable in place, the code that
edits them must call `clear()` (and other processes need a shared version to compare with).

The rows are detached from the session that read them (read-only snapshots); the cache is
bounded by the size of the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.db.tables import Price, Product


@dataclass
class CatalogCache:
    products: dict[int, Product] = field(default_factory=dict)
    prices_by_product: dict[int, list[Price]] = field(default_factory=dict)

    def clear(self) -> None:
        self.products.clear()
        self.prices_by_product.clear()
