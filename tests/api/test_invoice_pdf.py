"""Invoice PDFs: the owner downloads theirs; nobody else can reach it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.support import factories as f
from tests.support.graphql import Api, user_token


async def test_owner_downloads_the_invoice_pdf(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    invoice = await f.invoice(db, await f.subscription(db, customer), amounts=(87_238,))

    data = await api.data("{ invoices(first: 1) { nodes { number pdfUrl } } }", token=owner)
    [node] = data["invoices"]["nodes"]
    assert node["pdfUrl"] == f"http://127.0.0.1:8000/invoices/{invoice.number}.pdf"

    response = await api.client.get(
        f"/invoices/{invoice.number}.pdf", headers={"Authorization": f"Bearer {owner}"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f"Invoice {invoice.number}".encode() in response.content
    assert b"$872.38" in response.content


async def test_other_tenants_and_anonymous_get_no_pdf(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    invoice = await f.invoice(db, await f.subscription(db, await f.customer(db)))
    stranger = user_token(settings, await f.user(db, member_of=await f.customer(db)))
    path = f"/invoices/{invoice.number}.pdf"

    other = await api.client.get(path, headers={"Authorization": f"Bearer {stranger}"})
    anonymous = await api.client.get(path)

    assert (other.status_code, other.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "UNAUTHENTICATED")
