"""The migrations are the only way tables are made: they must round-trip and match the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import migrate
from app.db.migrate import render_item
from app.db.tables import BillingAccount, Invoice, Payment, PayNowRequest, metadata
from app.domain.enums import PaymentStatus, PayNowStatus
from tests.support import factories as f

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        assert await connection.run_sync(_tables) == set(metadata.tables)
        await connection.run_sync(migrate.downgrade)
        assert await connection.run_sync(_tables) == set()
        await connection.run_sync(migrate.upgrade)
        assert await connection.run_sync(_tables) == set(metadata.tables)
        assert await connection.run_sync(_diff) == []


async def test_0013_merges_payment_rows_recorded_twice_then_allows_one_per_ref(
    engine: AsyncEngine,
) -> None:
    """Copies a race recorded before the index are merged into the oldest row (a pay-now
    request naming a copy follows it); rows without a ref are left, any number of them."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(bind=connection, expire_on_commit=False) as db:
            # Made at the head (the factories write today's columns), then taken back to 0012.
            sub = await f.subscription(db, await f.customer(db))
            invoice = await f.invoice(db, sub)
            await connection.run_sync(migrate.downgrade, "0012")
            rows = [
                await f.add(db, Payment(**_payment(invoice.id, ref)))
                for ref in ("pay_1", "pay_1", "pay_2", None, None)
            ]
            request = await f.add(db, _pay_now(invoice, rows[1].id))
            await db.commit()
        await connection.run_sync(migrate.upgrade)
        kept = (
            await connection.execute(sa.text("SELECT id, provider_ref FROM payment ORDER BY id"))
        ).all()
        pointed = await connection.scalar(
            sa.text("SELECT payment_id FROM pay_now_request WHERE id = :id"), {"id": request.id}
        )
        with pytest.raises(IntegrityError):
            async with connection.begin_nested():
                await connection.execute(
                    sa.insert(Payment).values(**_payment(invoice.id, "pay_2"), created_at=NOW)
                )
        await transaction.rollback()

    ids = [row.id for row in rows]
    assert [tuple(row) for row in kept] == [
        (ids[0], "pay_1"),
        (ids[2], "pay_2"),
        (ids[3], None),
        (ids[4], None),
    ]
    assert pointed == ids[0]


async def test_0014_drops_the_webhook_payload_with_what_it_held(engine: AsyncEngine) -> None:
    """Rows stored with the vendor's whole event keep only their id, type and object ref."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.run_sync(migrate.downgrade, "0013")
        await connection.execute(
            sa.text(
                "INSERT INTO webhook_event (provider, event_id, type, kind, object_ref, payload,"
                " received_at) VALUES ('stripe', 'evt_1', 'customer.updated', 'ACCOUNT',"
                " 'cus_1', :payload, :now)"
            ),
            {"payload": '{"data": {"object": {"email": "ada@example.com"}}}', "now": NOW},
        )
        await connection.run_sync(migrate.upgrade)
        row = (await connection.execute(sa.text("SELECT * FROM webhook_event"))).mappings().one()
        await connection.run_sync(migrate.downgrade, "0013")
        emptied = await connection.scalar(sa.text("SELECT payload FROM webhook_event"))
        await transaction.rollback()

    assert "payload" not in row
    assert (row["event_id"], row["object_ref"]) == ("evt_1", "cus_1")
    assert emptied in ({}, "{}")  # a downgrade brings the column back empty


async def test_0017_billing_address_comes_and_goes_with_accounts_in_use(
    engine: AsyncEngine,
) -> None:
    """An account that subscriptions and invoices point at keeps its row both ways; the
    address a downgrade dropped comes back empty."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(bind=connection, expire_on_commit=False) as db:
            sub = await f.subscription(db, await f.customer(db))
            await f.invoice(db, sub)
            await db.execute(
                sa.update(BillingAccount).values(billing_city="Berlin", billing_country="DE")
            )
            await db.flush()
        await connection.run_sync(migrate.downgrade, "0016")
        old = (await connection.execute(sa.text("SELECT * FROM billing_account"))).mappings().one()
        await connection.run_sync(migrate.upgrade)
        new = (await connection.execute(sa.text("SELECT * FROM billing_account"))).mappings().one()
        await transaction.rollback()

    assert old["id"] == new["id"] == sub.billing_account_id
    assert "billing_city" not in old
    assert (new["billing_city"], new["billing_country"]) == (None, None)


def _payment(invoice_id: int | None, ref: str | None) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "amount": 348_000,
        "currency": "USD",
        "status": PaymentStatus.SUCCEEDED,
        "provider_ref": ref,
    }


def _pay_now(invoice: Invoice, payment_id: int | None) -> PayNowRequest:
    return PayNowRequest(
        billing_account_id=invoice.billing_account_id,
        idempotency_key="pay-1",
        invoice_id=invoice.id or 0,
        status=PayNowStatus.PAID,
        charge_key=f"pay-now:invoice:{invoice.id}",
        attempt=1,
        payment_id=payment_id,
        requested_by="customer_user:1",
    )
