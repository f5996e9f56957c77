"""Domain enums exposed to GraphQL under the same names."""

from __future__ import annotations

import strawberry

from app.auth.principals import PrincipalKind as _PrincipalKind
from app.domain import enums as e
from app.domain.eligibility import Action as _Action
from app.domain.errors import ErrorCode as _ErrorCode

ErrorCode = strawberry.enum(_ErrorCode, name="ErrorCode")
PrincipalKind = strawberry.enum(_PrincipalKind, name="PrincipalKind")
SubscriptionAction = strawberry.enum(_Action, name="SubscriptionAction")
CustomerKind = strawberry.enum(e.CustomerKind, name="CustomerKind")
MemberRole = strawberry.enum(e.MemberRole, name="MemberRole")
DeploymentKind = strawberry.enum(e.DeploymentKind, name="DeploymentKind")
ProductKind = strawberry.enum(e.ProductKind, name="ProductKind")
BillingPeriod = strawberry.enum(e.BillingPeriod, name="BillingPeriod")
SubscriptionStatus = strawberry.enum(e.SubscriptionStatus, name="SubscriptionStatus")
Channel = strawberry.enum(e.Channel, name="Channel")
ReconciliationMode = strawberry.enum(e.ReconciliationMode, name="ReconciliationMode")
SyncStatus = strawberry.enum(e.SyncStatus, name="SyncStatus")
ProvisioningStatus = strawberry.enum(e.ProvisioningStatus, name="ProvisioningStatus")
ConsumableKind = strawberry.enum(e.ConsumableKind, name="ConsumableKind")
InvoiceStatus = strawberry.enum(e.InvoiceStatus, name="InvoiceStatus")
InvoiceLineKind = strawberry.enum(e.InvoiceLineKind, name="InvoiceLineKind")
PaymentStatus = strawberry.enum(e.PaymentStatus, name="PaymentStatus")
OrderStatus = strawberry.enum(e.OrderStatus, name="OrderStatus")
NotificationKind = strawberry.enum(e.NotificationKind, name="NotificationKind")
DriftSystem = strawberry.enum(e.DriftSystem, name="DriftSystem")
DriftRepair = strawberry.enum(e.DriftRepair, name="DriftRepair")
AdminTaskKind = strawberry.enum(e.AdminTaskKind, name="AdminTaskKind")
AdminTaskStatus = strawberry.enum(e.AdminTaskStatus, name="AdminTaskStatus")
CreditNoteKind = strawberry.enum(e.CreditNoteKind, name="CreditNoteKind")
CreditNoteReason = strawberry.enum(e.CreditNoteReason, name="CreditNoteReason")
CreditNoteStatus = strawberry.enum(e.CreditNoteStatus, name="CreditNoteStatus")
DunningStatus = strawberry.enum(e.DunningStatus, name="DunningStatus")
