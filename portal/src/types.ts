// The shapes of the portal documents' answers (documents/portal/*.graphql).

import type { UserError } from "./api.js";

export interface Money {
  amount: string; // minor units (cents), as a string of digits
  formatted: string;
}

export interface BillingAccount {
  id: string;
  name: string;
  currency: string;
  paymentMethod: string | null;
}

export interface Viewer {
  kind: "ANONYMOUS" | "CUSTOMER_USER" | "PARTNER" | "ADMIN" | "SERVICE";
  name: string;
  partner: { name: string } | null;
  memberships: {
    role: "OWNER" | "BILLING_ADMIN" | "VIEWER";
    customer: { id: string; name: string; kind: string; billingAccounts: BillingAccount[] };
  }[];
}

export interface Actions {
  canAddSeats: boolean;
  canUpgrade: boolean;
  canBuyPacks: boolean;
  canAddAddOns: boolean;
  reason: string | null;
}

export interface ComputeMinutes {
  available: number;
  monthlyQuota: number;
  quotaRemaining: number;
  purchasedRemaining: number;
}

export interface SubscriptionRow {
  id: string;
  number: string;
  status: string;
  currency: string;
  seats: number;
  seatsInUse: number;
  seatsRemaining: number;
  termStart: string;
  termEnd: string;
  autoRenew: boolean;
  plan: { code: string; name: string };
  customer: { name: string } | null;
  deployment: { kind: string; externalId: string; name: string } | null;
  computeMinutes: ComputeMinutes | null;
  addOns: { quantity: number; assignedSeats: number; product: { code: string; name: string } }[];
  pendingChange: { effectiveOn: string; plan: { name: string } } | null;
  actions: Actions;
}

export interface Assignment {
  userId: string;
  assignedAt: string;
  assignedBy: { kind: string; name: string };
}

export interface AddOnPurchase {
  id: string;
  quantity: number;
  assignedSeats: number;
  availableSeats: number;
  product: { code: string; name: string };
  assignments: { nodes: Assignment[] };
}

export interface SubscriptionDetail {
  id: string;
  number: string;
  status: string;
  currency: string;
  seats: number;
  seatsInUse: number;
  seatsRemaining: number;
  termStart: string;
  termEnd: string;
  plan: { code: string; name: string; tier: number };
  customer: { id: string; name: string } | null;
  computeMinutes: ComputeMinutes | null;
  consumables: {
    kind: string;
    packs: number;
    units: number;
    unitsRemaining: number;
    expiresOn: string;
    product: { code: string; name: string };
  }[];
  addOns: AddOnPurchase[];
  actions: Actions & { refusals: { action: string; code: string; message: string }[] };
}

export interface Product {
  code: string;
  name: string;
  kind: "PLAN" | "SEAT_ADDON" | "ONE_TIME_PACK" | "RECURRING_PACK";
  tier: number;
  packUnits: number | null;
  validityMonths: number | null;
  eligiblePlans: string[];
  price: { period: string; amount: Money } | null;
}

export interface QuoteLine {
  kind: string;
  description: string;
  productCode: string | null;
  quantity: number;
  periodStart: string | null;
  periodEnd: string | null;
  unitAmount: Money;
  amount: Money;
}

export interface Quote {
  __typename: "Quote";
  token: string;
  currency: string;
  expiresAt: string;
  subtotal: Money;
  discount: Money;
  total: Money;
  lines: QuoteLine[];
}

export interface Order {
  id: string;
  status: string;
  total: Money;
  invoice: { number: string; status: string; pdfUrl: string; total: Money } | null;
  subscription: { number: string; status: string; seats: number; plan: { code: string; name: string } } | null;
}

export type QuoteResult = Quote | UserError;
export type PlaceResult = { __typename: "OrderPlacePayload"; order: Order } | UserError;

export interface OrderInput {
  customerId?: string;
  subscriptionId?: string;
  actions: object[];
  promoCode?: string;
}

export interface Invoice {
  id: string;
  number: string;
  status: string;
  issuedOn: string;
  dueOn: string;
  pdfUrl: string;
  total: Money;
  amountDue: Money;
  customer: { name: string } | null;
  subscription: { number: string } | null;
}

export interface Customer {
  id: string;
  name: string;
  email: string;
  country: string;
  kind: string;
  subscriptions: { nodes: { number: string; status: string; seats: number; termEnd: string; plan: { name: string } }[] };
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}
