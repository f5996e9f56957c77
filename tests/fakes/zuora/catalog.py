"""The product catalog: CRUD creates (`/v1/object/...`, answering {"Success", "Id"}) and the
catalog read by key (id or SKU) with its rate plans and charges."""

from __future__ import annotations

from tests.fakes.zuora.store import Call, Obj, Router, ZuoraFault, not_found


def register(router: Router) -> None:
    router.post("/v1/object/product", create_product)
    router.post("/v1/object/product-rate-plan", create_rate_plan)
    router.post("/v1/object/product-rate-plan-charge", create_charge)
    router.get("/v1/catalog/products/{key}", get_product)


def _crud_refusal(code: str, message: str) -> ZuoraFault:
    return ZuoraFault(0, message, crud=code)


def create_product(call: Call) -> Obj:
    body, store = call.body, call.store
    sku = str(body.get("SKU") or "")
    if not sku or not body.get("Name"):
        raise _crud_refusal("MISSING_REQUIRED_VALUE", "Name and SKU are required")
    if any(product["sku"] == sku for product in store.products.values()):
        raise _crud_refusal("DUPLICATE_VALUE", f"SKU {sku} already exists")
    product = {"id": store.new_id(), "sku": sku, "name": body["Name"], "productRatePlans": []}
    store.products[product["id"]] = product
    return {"Success": True, "Id": product["id"]}


def create_rate_plan(call: Call) -> Obj:
    product = call.store.products.get(str(call.body.get("ProductId")))
    if product is None:
        raise _crud_refusal("INVALID_VALUE", "invalid ProductId")
    plan = {"id": call.store.new_id(), "name": call.body.get("Name"), "productSku": product["sku"]}
    plan["productRatePlanCharges"] = []
    call.store.rate_plans[plan["id"]] = plan
    product["productRatePlans"].append(plan)
    return {"Success": True, "Id": plan["id"]}


def create_charge(call: Call) -> Obj:
    plan = call.store.rate_plans.get(str(call.body.get("ProductRatePlanId")))
    if plan is None:
        raise _crud_refusal("INVALID_VALUE", "invalid ProductRatePlanId")
    tiers = (call.body.get("ProductRatePlanChargeTierData") or {}).get("ProductRatePlanChargeTier")
    charge = {
        "id": call.store.new_id(),
        "name": call.body.get("Name"),
        "productRatePlanId": plan["id"],
        "currencies": sorted(tier["Currency"] for tier in tiers or []),
    }
    call.store.charges[charge["id"]] = charge
    plan["productRatePlanCharges"].append(charge)
    return {"Success": True, "Id": charge["id"]}


def get_product(call: Call) -> Obj:
    try:
        product = call.store.product_by_key(call.ids["key"])
    except ZuoraFault:
        raise not_found("product", call.ids["key"]) from None
    return {"success": True, **product}
