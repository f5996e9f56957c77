"""Domain enums exposed to GraphQL under the same names."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from app.auth.principals import MembershipState as _MembershipState
from app.auth.principals import PrincipalKind as _PrincipalKind
from app.domain import enums as e
from app.domain.eligibility import Action as _Action
from app.domain.errors import ErrorCode as _ErrorCode

ErrorCode: TypeAlias = _ErrorCode
strawberry.enum(ErrorCode, name="ErrorCode")
PrincipalKind: TypeAlias = _PrincipalKind
strawberry.enum(PrincipalKind, name="PrincipalKind")
MembershipState: TypeAlias = _MembershipState
strawberry.enum(
    MembershipState,
    name="MembershipState",
    description="Where a signed-in customer user stands: MEMBER of a customer; NO_MEMBERSHIP "
    "(known, but removed from or never added to a customer); UNPROVISIONED (a valid token for "
    "a user never seen before). The last two may only start a first purchase; mutations that "
    "need a membership answer them with the top-level code NO_CUSTOMER_MEMBERSHIP.",
)
SubscriptionAction: TypeAlias = _Action
strawberry.enum(SubscriptionAction, name="SubscriptionAction")
CustomerKind: TypeAlias = e.CustomerKind
strawberry.enum(CustomerKind, name="CustomerKind")
MemberRole: TypeAlias = e.MemberRole
strawberry.enum(MemberRole, name="MemberRole")
DeploymentKind: TypeAlias = e.DeploymentKind
strawberry.enum(DeploymentKind, name="DeploymentKind")
ProductKind: TypeAlias = e.ProductKind
strawberry.enum(ProductKind, name="ProductKind")
BillingPeriod: TypeAlias = e.BillingPeriod
strawberry.enum(BillingPeriod, name="BillingPeriod")
SubscriptionStatus: TypeAlias = e.SubscriptionStatus
strawberry.enum(SubscriptionStatus, name="SubscriptionStatus")
Channel: TypeAlias = e.Channel
strawberry.enum(Channel, name="Channel")
ReconciliationMode: TypeAlias = e.ReconciliationMode
strawberry.enum(ReconciliationMode, name="ReconciliationMode")
SyncStatus: TypeAlias = e.SyncStatus
strawberry.enum(SyncStatus, name="SyncStatus")
ProvisioningStatus: TypeAlias = e.ProvisioningStatus
strawberry.enum(ProvisioningStatus, name="ProvisioningStatus")
ConsumableKind: TypeAlias = e.ConsumableKind
strawberry.enum(ConsumableKind, name="ConsumableKind")
InvoiceStatus: TypeAlias = e.InvoiceStatus
strawberry.enum(InvoiceStatus, name="InvoiceStatus")
InvoiceLineKind: TypeAlias = e.InvoiceLineKind
strawberry.enum(InvoiceLineKind, name="InvoiceLineKind")
PaymentStatus: TypeAlias = e.PaymentStatus
strawberry.enum(PaymentStatus, name="PaymentStatus")
OrderStatus: TypeAlias = e.OrderStatus
strawberry.enum(OrderStatus, name="OrderStatus")
NotificationKind: TypeAlias = e.NotificationKind
strawberry.enum(NotificationKind, name="NotificationKind")
DriftSystem: TypeAlias = e.DriftSystem
strawberry.enum(DriftSystem, name="DriftSystem")
DriftRepair: TypeAlias = e.DriftRepair
strawberry.enum(DriftRepair, name="DriftRepair")
AdminTaskKind: TypeAlias = e.AdminTaskKind
strawberry.enum(AdminTaskKind, name="AdminTaskKind")
AdminTaskStatus: TypeAlias = e.AdminTaskStatus
strawberry.enum(AdminTaskStatus, name="AdminTaskStatus")
TaxTreatment: TypeAlias = e.TaxTreatment
strawberry.enum(TaxTreatment, name="TaxTreatment")
CreditNoteKind: TypeAlias = e.CreditNoteKind
strawberry.enum(CreditNoteKind, name="CreditNoteKind")
CreditNoteReason: TypeAlias = e.CreditNoteReason
strawberry.enum(CreditNoteReason, name="CreditNoteReason")
CreditNoteStatus: TypeAlias = e.CreditNoteStatus
strawberry.enum(CreditNoteStatus, name="CreditNoteStatus")
DunningStatus: TypeAlias = e.DunningStatus
strawberry.enum(DunningStatus, name="DunningStatus")
