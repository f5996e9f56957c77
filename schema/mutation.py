"""The root Mutation: each area contributes its mutations."""

from __future__ import annotations

import strawberry

from schema.licenses import LicenseMutations
from schema.orders import OrderMutations
from schema.subscription_changes import SubscriptionChangeMutations


@strawberry.type
class Mutation(OrderMutations, SubscriptionChangeMutations, LicenseMutations):
    pass
