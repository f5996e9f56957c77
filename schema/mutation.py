"""The root Mutation: each area contributes its mutations."""

from __future__ import annotations

import strawberry

from schema.drift import DriftMutations
from schema.integration import IntegrationMutations
from schema.licenses import LicenseMutations
from schema.money_back import MoneyBackMutations
from schema.notifications import NotificationMutations
from schema.orders import OrderMutations
from schema.payments import PaymentMutations
from schema.people import PeopleMutations
from schema.promotions import PromotionMutations
from schema.staff import StaffMutations
from schema.subscription_changes import SubscriptionChangeMutations
from schema.test_clock import TestClockMutations
from schema.usage import UsageMutations


@strawberry.type
class Mutation(
    OrderMutations,
    PaymentMutations,
    MoneyBackMutations,
    SubscriptionChangeMutations,
    LicenseMutations,
    NotificationMutations,
    TestClockMutations,
    UsageMutations,
    IntegrationMutations,
    DriftMutations,
    PromotionMutations,
    PeopleMutations,
    StaffMutations,
):
    pass
