"""The outbox's handlers, one per topic. A topic without an entry here is never claimed, so
a message written by a newer release waits for a worker that knows it.

Each mirrors its outcome on the subscription's status, unless a newer message of the same
topic for the subscription is still to do: then the status stays PENDING (as queueing that
message left it) until the newer one's outcome."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import invoices as invoice_repo
from app.db.repositories import outbox as repo
from app.domain.enums import ProvisioningStatus, SyncStatus
from app.runtime import Runtime
from app.services import (
    crm_mirror,
    crm_sync,
    integration_events,
    notifications,
    outbox,
    provisioning,
)
from app.services.billing import invoice_sync, subscriptions
from app.services.inbound import events as inbound
from app.services.inbound.process import ProcessWebhook
from app.services.integration_delivery import DeliverEvent
from app.services.lifecycle import lapsed
from app.services.worker.handler import Claimed, Handler, PermanentFailure, Record


class ProvisioningPush:
    """`provisioning.push`: push the deployment's current entitlement to the product."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        subscription_id = message.subscription()
        try:
            await provisioning.push_current(
                runtime, subscription_id, idempotency_key=message.idempotency_key
            )
        except provisioning.SubscriptionGone as error:
            raise PermanentFailure(str(error)) from error

        async def record(session: AsyncSession) -> None:
            if not await repo.superseded(session, message.id):
                await provisioning.set_status(
                    session, subscription_id, ProvisioningStatus.PROVISIONED
                )

        return record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        if message.subscription_id is None or await repo.superseded(session, message.id):
            return
        status = ProvisioningStatus.FAILED if gave_up else ProvisioningStatus.RETRYING
        await provisioning.set_status(session, message.subscription_id, status)


class BillingSync:
    """`billing.sync_subscription`: make the provider's subscription match the local one,
    then check the local copies of its invoices (app/services/billing/)."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        subscription_id = message.subscription()
        try:
            provider_ref = await subscriptions.sync(
                runtime, subscription_id, idempotency_key=message.idempotency_key
            )
        except subscriptions.NotSyncable as error:
            raise PermanentFailure(str(error)) from error
        invoices = await invoice_sync.check(runtime, subscription_id)

        async def record(session: AsyncSession) -> None:
            synced = not await repo.superseded(session, message.id)
            await subscriptions.record_ref(session, subscription_id, provider_ref, synced=synced)
            await invoice_repo.set_sync_statuses(session, invoices)

        return record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        if message.subscription_id is None or await repo.superseded(session, message.id):
            return
        status = SyncStatus.FAILED if gave_up else SyncStatus.PENDING
        await subscriptions.set_sync_status(session, message.subscription_id, status)


class CrmSync:
    """`crm.sync_subscription`: upsert the subscription's mirror into the CRM. The outbox row
    is its status (the subscription's sync status is the billing provider's); a CRM that
    does not know the customer's account fails it for good, until the account is there and
    the next change (or a drift check) queues another push."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        await crm_mirror.push(runtime, message.subscription())
        return _nothing_to_record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """Nothing on the subscription: see the class docstring."""


class NotificationEmail:
    """`notification.email`: send one notification's e-mail through the configured mailer."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        notification_id = message.payload.get("notification_id")
        if not isinstance(notification_id, int):
            raise PermanentFailure(f"message {message.id} names no notification_id")
        async with runtime.sessions() as session:
            email = await notifications.email_of(session, notification_id)
        if email is None:
            raise PermanentFailure(f"notification {notification_id} no longer exists")
        await runtime.providers.mailer.send(email, idempotency_key=message.idempotency_key)
        return _nothing_to_record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """The outbox row (attempts, last error) is the e-mail's delivery status."""


class CrmOrderOpportunity:
    """`crm.order_opportunity`: record an applied order as a won opportunity in the CRM
    (app/services/crm_sync.py), under the message's key: once per order."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        try:
            opportunity = crm_sync.opportunity_of(message.payload)
        except (KeyError, TypeError, ValueError) as error:
            raise PermanentFailure(f"message {message.id} carries no opportunity") from error
        crm = runtime.providers.crm
        await crm.create_opportunity(opportunity, idempotency_key=message.idempotency_key)
        return _nothing_to_record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """The outbox row (attempts, last error) is the opportunity's status."""


async def _nothing_to_record(session: AsyncSession) -> None:
    return None


HANDLERS: Mapping[str, Handler] = {
    outbox.PROVISION: ProvisioningPush(),
    outbox.BILLING_SYNC: BillingSync(),
    outbox.CRM_SYNC: CrmSync(),
    notifications.EMAIL: NotificationEmail(),
    crm_sync.CRM_OPPORTUNITY: CrmOrderOpportunity(),
    inbound.PROCESS: ProcessWebhook(),
    lapsed.TOPIC: lapsed.VoidLapsedInvoice(),
    integration_events.DELIVER: DeliverEvent(),
}
