"""Catalog product codes -> Zuora's product catalog, found or created idempotently.

One Product per product code, with the SKU equal to the code; one ProductRatePlan under it
and one recurring per-unit ProductRatePlanCharge (billing period: the term), listed at 0 in
each currency the app sells in. Pricing stays in app/domain: every subscription overrides the
charge's list price with the item's unit amount (chargeOverrides), so the catalog never holds
a price the app has to keep in step.

A code is looked up by SKU (`GET /v1/catalog/products/{sku}`) and created when missing; the
three CRUD writes are keyed by what they create (f"catalog:{step}:{code}"), not by a
caller's key, so two callers racing for the same code make the same requests and get the
same answers. Found ids are kept for the life of the provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.domain.money import CURRENCY_SYMBOLS
from app.providers.billing.zuora.client import Json, ZuoraApi
from app.providers.errors import ProviderNotFound

_OPEN_DATES = {"EffectiveStartDate": "2000-01-01", "EffectiveEndDate": "2099-12-31"}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    rate_plan_id: str
    charge_id: str


@dataclass
class Catalog:
    api: ZuoraApi
    _found: dict[str, CatalogEntry] = field(default_factory=dict)

    async def entries(self, codes: Sequence[str]) -> Mapping[str, CatalogEntry]:
        missing = [code for code in dict.fromkeys(codes) if code not in self._found]
        found = await asyncio.gather(*(self._entry(code) for code in missing))
        self._found.update(zip(missing, found, strict=True))
        return {code: self._found[code] for code in codes}

    async def _entry(self, code: str) -> CatalogEntry:
        try:
            product = await self.api.get(f"/v1/catalog/products/{code}")
        except ProviderNotFound:
            return await self._create(code)
        entry = _entry_of(product)
        return entry if entry is not None else await self._create(code, str(product["id"]))

    async def _create(self, code: str, product_id: str | None = None) -> CatalogEntry:
        if product_id is None:
            created = await self.api.post(
                "/v1/object/product",
                {"Name": code, "SKU": code, **_OPEN_DATES},
                key=f"catalog:product:{code}",
            )
            product_id = str(created["Id"])
        plan = await self.api.post(
            "/v1/object/product-rate-plan",
            {"ProductId": product_id, "Name": code, **_OPEN_DATES},
            key=f"catalog:plan:{code}",
        )
        tiers = [{"Currency": currency, "Price": 0} for currency in sorted(CURRENCY_SYMBOLS)]
        charge = await self.api.post(
            "/v1/object/product-rate-plan-charge",
            {
                "ProductRatePlanId": plan["Id"],
                "Name": code,
                "ChargeModel": "Per Unit Pricing",
                "ChargeType": "Recurring",
                "BillingPeriod": "Specific Months",
                "SpecificBillingPeriod": 12,
                "TriggerEvent": "ContractEffective",
                "UOM": "Each",
                "ProductRatePlanChargeTierData": {"ProductRatePlanChargeTier": tiers},
            },
            key=f"catalog:charge:{code}",
        )
        return CatalogEntry(str(plan["Id"]), str(charge["Id"]))


def _entry_of(product: Json) -> CatalogEntry | None:
    for plan in product.get("productRatePlans") or []:
        for charge in plan.get("productRatePlanCharges") or []:
            return CatalogEntry(str(plan["id"]), str(charge["id"]))
    return None
