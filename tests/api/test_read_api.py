"""The read API end to end: a customer owner's subscriptions with nested data and seat rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import CrmAccountRecord
from app.domain.enums import InvoiceStatus, MemberRole, SubscriptionStatus
from tests.support import factories as f
from tests.support.graphql import Api, error_codes, user_token

DASHBOARD = """
query Dashboard {
  viewer { kind name memberships { role customer { name crmAccount { name segment } } } }
  subscriptions(first: 10) {
    pageInfo { hasNextPage endCursor }
    nodes {
      number status seats seatsInUse maxSeatsUsed seatsOwed seatsRemaining seatAlert
      termStart termEnd autoRenew
      plan { code name price { amount { amount currency formatted } } }
      addOns { quantity assignedSeats product { code } }
      actions { canAddSeats canUpgrade canRenew canDowngrade reason }
      invoices(first: 5) {
        nodes {
          number status total { amount formatted } amountDue { amount }
          lines { position description amount { amount } }
          payments { status }
        }
      }
    }
  }
}
"""


async def _owner_with_premium(db: AsyncSession) -> tuple[f.Customer, f.PortalUser, f.Subscription]:
    acme = await f.customer(db, name="Acme Corp", crm_ref="crm_acme")
    db.add(
        CrmAccountRecord(
            ref="crm_acme",
            name="Acme (CRM)",
            segment="SMB",
            owner_name="Ada",
            owner_email="ada@vendor.example",
        )
    )
    owner = await f.user(db, member_of=acme, role=MemberRole.OWNER)
    sub = await f.subscription(db, acme, seats=10, seats_in_use=12, max_seats_used=13)
    await f.add_on(db, sub, quantity=5)
    await f.invoice(db, sub, amounts=(348_000,), status=InvoiceStatus.PAID, amount_paid=348_000)
    await f.invoice(db, sub, amounts=(87_238,), issued_on=date(2026, 7, 2))
    return acme, owner, sub


async def test_owner_dashboard_returns_seeded_data(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    _, owner, sub = await _owner_with_premium(db)

    data = await api.data(DASHBOARD, token=user_token(settings, owner))

    assert data["viewer"]["kind"] == "CUSTOMER_USER"
    assert data["viewer"]["memberships"] == [
        {
            "role": "OWNER",
            "customer": {
                "name": "Acme Corp",
                "crmAccount": {"name": "Acme (CRM)", "segment": "SMB"},
            },
        }
    ]
    [node] = data["subscriptions"]["nodes"]
    assert node["number"] == sub.number
    assert (node["seats"], node["seatsInUse"], node["maxSeatsUsed"]) == (10, 12, 13)
    assert (node["seatsOwed"], node["seatsRemaining"], node["seatAlert"]) == (3, -2, True)
    assert node["plan"]["price"]["amount"] == {
        "amount": "34800",
        "currency": "USD",
        "formatted": "$348.00",
    }
    assert node["addOns"] == [{"quantity": 5, "assignedSeats": 0, "product": {"code": "duo_pro"}}]
    assert node["actions"] == {
        "canAddSeats": True,
        "canUpgrade": True,
        "canRenew": False,
        "canDowngrade": False,
        "reason": "PLAN_NOT_ELIGIBLE",
    }
    newest, oldest = node["invoices"]["nodes"]
    assert newest["total"] == {"amount": "87238", "formatted": "$872.38"}
    assert newest["amountDue"] == {"amount": "87238"}
    assert oldest["status"] == "PAID" and oldest["amountDue"] == {"amount": "0"}
    assert oldest["lines"] == [
        {"position": 1, "description": "Line 1", "amount": {"amount": "348000"}}
    ]


async def test_viewer_may_not_purchase_but_sees_why(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    acme, _, _ = await _owner_with_premium(db)
    viewer = await f.user(db, member_of=acme, role=MemberRole.VIEWER)

    data = await api.data(
        "{ subscriptions(first: 5) { nodes { actions { canAddSeats reason } } } }",
        token=user_token(settings, viewer),
    )

    assert data["subscriptions"]["nodes"] == [
        {"actions": {"canAddSeats": False, "reason": "FORBIDDEN"}}
    ]


async def test_subscription_lookup_by_number_and_deployment(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    _, owner, sub = await _owner_with_premium(db)
    token = user_token(settings, owner)
    query = """query($n: String, $d: String) {
      subscription(number: $n, deployment: $d) { number deployment { externalId } } }"""
    external = "ns-lookup"
    expired = await f.subscription(db, await f.customer(db), status=SubscriptionStatus.EXPIRED)
    assert expired.number != sub.number

    by_number = await api.data(query, {"n": sub.number.lower()}, token=token)
    deployment_id = by_number["subscription"]["deployment"]["externalId"]
    by_deployment = await api.data(query, {"d": deployment_id}, token=token)
    both = await api.query(query, {"n": sub.number, "d": external}, token=token)

    assert by_number["subscription"]["number"] == sub.number
    assert by_deployment["subscription"]["number"] == sub.number
    assert error_codes(both) == ["VALIDATION"]


async def test_pagination_walks_every_subscription_once(db: AsyncSession, api: Api) -> None:
    admin = await _admin(db)
    customer = await f.customer(db)
    numbers = {(await f.subscription(db, customer)).number for _ in range(5)}
    query = """query($after: String) { subscriptions(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { number } } }"""

    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(query, {"after": after}, token=admin))["subscriptions"]
        seen += [n["number"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(seen) == 5 and set(seen) == numbers


async def test_page_size_is_capped(db: AsyncSession, api: Api) -> None:
    admin = await _admin(db)
    body = await api.query("{ subscriptions(first: 101) { nodes { number } } }", token=admin)
    assert error_codes(body) == ["VALIDATION"]
    assert body["data"] is None


async def test_products_are_public(db: AsyncSession, api: Api) -> None:
    await f.catalog(db)
    data = await api.data('{ products(tags: ["PLAN"]) { code price { amount { amount } } } }')
    assert [(p["code"], p["price"]["amount"]["amount"]) for p in data["products"]] == [
        ("free", "0"),
        ("premium", "34800"),
        ("ultimate", "118800"),
    ]


async def test_health_endpoints(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ok", "database": "ok"}


async def _admin(db: AsyncSession) -> str:
    from app.domain.enums import TokenKind
    from tests.support.graphql import api_token

    return await api_token(db, TokenKind.ADMIN)


class DownCrm:
    async def get_accounts(self, refs: object) -> object:
        from app.providers.errors import ProviderUnavailable

        raise ProviderUnavailable("crm", "connection refused")


async def test_crm_down_nulls_only_its_field(
    db: AsyncSession, api: Api, settings: Settings, runtime: Any
) -> None:
    _, owner, sub = await _owner_with_premium(db)
    runtime.providers.crm = DownCrm()

    body = await api.query(
        "{ viewer { memberships { customer { name crmAccount { name } } } }"
        " subscriptions(first: 5) { nodes { number } } }",
        token=user_token(settings, owner),
    )

    assert body["data"]["viewer"]["memberships"] == [
        {"customer": {"name": "Acme Corp", "crmAccount": None}}
    ]
    assert body["data"]["subscriptions"]["nodes"] == [{"number": sub.number}]
    assert error_codes(body) == ["PROVIDER_UNAVAILABLE"]
    assert body["errors"][0]["path"] == ["viewer", "memberships", 0, "customer", "crmAccount"]
