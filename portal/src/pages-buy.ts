// The purchase pages: add seats, upgrade, packs and add-on (Duo) seats on a subscription,
// and the checkout of a new subscription with a promo code and a test card.

import { isUserError, newKey, problemOf, run, type UserError } from "./api.js";
import { button, type Child, field, h, input, replace, select } from "./dom.js";
import type { AddOnPurchase, BillingAccount, Product, SubscriptionDetail, Viewer } from "./types.js";
import { loading, orderFlow, problemBox, problemFrom, table } from "./ui.js";

async function subscription(number: string): Promise<SubscriptionDetail | null> {
  const data = await run<{ subscription: SubscriptionDetail | null }>("PortalSubscription", { number });
  return data.subscription;
}

async function products(currency: string): Promise<Product[]> {
  return (await run<{ products: Product[] }>("PortalProducts", { currency })).products;
}

function summary(sub: SubscriptionDetail): HTMLElement {
  return h(
    "dl",
    { class: "summary", "aria-label": "Subscription" },
    h("dt", {}, "Subscription"),
    h("dd", {}, sub.number),
    h("dt", {}, "Customer"),
    h("dd", {}, sub.customer?.name ?? "—"),
    h("dt", {}, "Plan"),
    h("dd", { "data-test": "plan" }, sub.plan.name),
    h("dt", {}, "Status"),
    h("dd", {}, sub.status),
    h("dt", {}, "Seats"),
    h("dd", { "data-test": "seats" }, `${sub.seats} paid, ${sub.seatsInUse} in use`),
    h("dt", {}, "Term"),
    h("dd", {}, `${sub.termStart} to ${sub.termEnd}`),
  );
}

/** Loads the subscription, then draws the page, or the problem on the way. */
async function withSubscription(root: HTMLElement, title: string, number: string, draw: (sub: SubscriptionDetail) => Promise<Child[]>): Promise<void> {
  replace(root, h("h2", {}, title), loading());
  try {
    const sub = await subscription(number);
    if (!sub) {
      replace(root, h("h2", {}, title), problemBox({ code: "NOT_FOUND", message: `No subscription ${number} you can see.` }));
      return;
    }
    replace(root, h("h2", {}, `${title}: ${sub.number}`), summary(sub), ...(await draw(sub)));
  } catch (error) {
    replace(root, h("h2", {}, title), problemBox(problemFrom(error)));
  }
}

function positive(value: string, what: string): number | { code: string; message: string } {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) return { code: "VALIDATION", message: `${what} must be a whole number of at least 1.` };
  return n;
}

function promoField(): HTMLInputElement {
  return input("promoCode", { type: "text", maxlength: 64, autocomplete: "off", placeholder: "WELCOME10" });
}

function withPromo<T extends object>(order: T, promo: HTMLInputElement): T & { promoCode?: string } {
  const code = promo.value.trim();
  return code ? { ...order, promoCode: code } : order;
}

export async function addSeatsPage(root: HTMLElement, number: string): Promise<void> {
  await withSubscription(root, "Add seats", number, async (sub) => {
    const seats = input("seats", { type: "number", min: 1, step: 1, value: 1 });
    const promo = promoField();
    return [
      h("p", { class: "note" }, `New seats are charged from today to the term end (${sub.termEnd}), prorated by the day.`),
      field("Seats to add", seats),
      field("Promo code (optional)", promo),
      orderFlow({
        input: () => {
          const n = positive(seats.value, "Seats to add");
          if (typeof n !== "number") return n;
          return withPromo({ subscriptionId: sub.id, actions: [{ addSeats: { seats: n } }] }, promo);
        },
      }),
    ];
  });
}

export async function upgradePage(root: HTMLElement, number: string): Promise<void> {
  await withSubscription(root, "Upgrade", number, async (sub) => {
    const plans = (await products(sub.currency)).filter((p) => p.kind === "PLAN" && p.tier > sub.plan.tier && p.price);
    if (!plans.length) return [problemBox({ code: "PLAN_NOT_ELIGIBLE", message: "There is no higher plan to upgrade to." })];
    const plan = select("plan", plans.map((p) => [p.code, `${p.name} (${p.price?.amount.formatted} per seat a year)`] as const));
    const promo = promoField();
    return [
      h("p", { class: "note" }, "An upgrade applies now: the unused days of the current plan are credited."),
      field("New plan", plan),
      field("Promo code (optional)", promo),
      orderFlow({ input: () => withPromo({ subscriptionId: sub.id, actions: [{ changePlan: { plan: plan.value } }] }, promo) }),
    ];
  });
}

export async function packsPage(root: HTMLElement, number: string): Promise<void> {
  await withSubscription(root, "Buy packs", number, async (sub) => {
    const packs = (await products(sub.currency)).filter(
      (p) => (p.kind === "ONE_TIME_PACK" || p.kind === "RECURRING_PACK") && p.price && (!p.eligiblePlans.length || p.eligiblePlans.includes(sub.plan.code)),
    );
    const pack = select("pack", packs.map((p) => [p.code, `${p.name} (${p.price?.amount.formatted}${p.validityMonths ? `, valid ${p.validityMonths} months` : ""})`] as const));
    const quantity = input("quantity", { type: "number", min: 1, max: 100000, step: 1, value: 1 });
    const minutes = sub.computeMinutes;
    const owned = sub.consumables.map((c) =>
      h("tr", {}, h("td", {}, c.product.name), h("td", { class: "num" }, c.packs), h("td", { class: "num" }, `${c.unitsRemaining.toLocaleString()} of ${c.units.toLocaleString()}`), h("td", {}, c.expiresOn)),
    );
    return [
      minutes
        ? h("p", { "data-test": "compute-minutes" }, `Compute minutes this month: ${minutes.available.toLocaleString()} available (${minutes.quotaRemaining.toLocaleString()} of the ${minutes.monthlyQuota.toLocaleString()} quota, ${minutes.purchasedRemaining.toLocaleString()} purchased).`)
        : null,
      table("Packs", ["Pack", "Packs", "Left", "Expires"], owned),
      field("Pack", pack),
      field("Quantity", quantity),
      orderFlow({
        input: () => {
          const n = positive(quantity.value, "Quantity");
          if (typeof n !== "number") return n;
          return { subscriptionId: sub.id, actions: [{ buyPack: { pack: pack.value, quantity: n } }] };
        },
        onPlaced: () => void packsPage(root, number),
      }),
    ];
  });
}

type SeatResult = { __typename: string; assignedUserIds: string[]; addOnPurchase: { id: string } } | UserError;

function addOnSection(root: HTMLElement, number: string, addOn: AddOnPurchase): HTMLElement {
  const problems = h("div", {});
  const users = input(`users-${addOn.product.code}`, { type: "text", autocomplete: "off", placeholder: "user-2004, user-2005" });
  const change = async (document: "PortalAddOnSeatAssign" | "PortalAddOnSeatUnassign", ids: string[]): Promise<void> => {
    replace(problems);
    if (!ids.length) {
      replace(problems, problemBox({ code: "VALIDATION", message: "Give at least one user id." }));
      return;
    }
    try {
      const data = await run<Record<string, SeatResult>>(document, { addOnPurchaseId: addOn.id, userIds: ids });
      const answer = Object.values(data)[0];
      if (!answer) return;
      if (isUserError(answer)) {
        replace(problems, problemBox(problemOf(answer)));
        return;
      }
      await addOnsPage(root, number);
    } catch (error) {
      replace(problems, problemBox(problemFrom(error)));
    }
  };
  const rows = addOn.assignments.nodes.map((a) =>
    h(
      "tr",
      { "data-user": a.userId },
      h("td", {}, a.userId),
      h("td", {}, new Date(a.assignedAt).toLocaleString()),
      h("td", {}, a.assignedBy.name),
      h("td", {}, button("Unassign", () => change("PortalAddOnSeatUnassign", [a.userId]), { "aria-label": `Unassign ${a.userId}` })),
    ),
  );
  return h(
    "section",
    { class: "add-on", "aria-label": addOn.product.name, "data-add-on": addOn.product.code },
    h("h3", {}, addOn.product.name),
    h("p", { "data-test": "add-on-seats" }, `${addOn.assignedSeats} of ${addOn.quantity} seats assigned, ${addOn.availableSeats} available.`),
    table(`${addOn.product.name} seats`, ["User id", "Assigned", "By", ""], rows),
    problems,
    h(
      "div",
      { class: "inline" },
      field("User ids to assign (comma-separated)", users),
      button("Assign", () => change("PortalAddOnSeatAssign", users.value.split(",").map((id) => id.trim()).filter(Boolean))),
    ),
  );
}

export async function addOnsPage(root: HTMLElement, number: string): Promise<void> {
  await withSubscription(root, "Duo seats", number, async (sub) =>
    sub.addOns.length ? sub.addOns.map((addOn) => addOnSection(root, number, addOn)) : [h("p", {}, "This subscription has no add-ons.")],
  );
}

// The local billing provider's (and Stripe's) test payment methods (README "Buying").
const TEST_CARDS = [
  ["pm_card_visa", "Visa (succeeds)"],
  ["pm_card_mastercard", "Mastercard (succeeds)"],
  ["pm_card_declined", "Declined card"],
  ["pm_card_insufficient_funds", "Insufficient funds"],
  ["pm_card_chargeCustomerFail", "Attaches, then declines"],
  ["pm_card_chargeDeclined", "Refused when attached"],
] as const;

type SetCardResult = { __typename: "BillingAccountSetPaymentMethodPayload"; billingAccount: BillingAccount } | UserError;

export async function checkoutPage(root: HTMLElement): Promise<void> {
  replace(root, h("h2", {}, "New subscription"), loading());
  try {
    const viewer = (await run<{ viewer: Viewer | null }>("PortalViewer")).viewer;
    const buyers = (viewer?.memberships ?? []).filter((m) => m.role !== "VIEWER");
    if (!buyers.length) {
      replace(root, h("h2", {}, "New subscription"), problemBox({ code: "FORBIDDEN", message: "Only a customer's owners and billing admins buy subscriptions." }));
      return;
    }
    const catalog = await products("USD");
    const plans = catalog.filter((p) => p.kind === "PLAN" && p.price && p.price.amount.amount !== "0");
    const customer = select("customer", buyers.map((m) => [m.customer.id, m.customer.name] as const));
    const plan = select("plan", plans.map((p) => [p.code, `${p.name} (${p.price?.amount.formatted} per seat a year)`] as const));
    const seats = input("seats", { type: "number", min: 1, step: 1, value: 5 });
    const kind = select("deploymentKind", [["SAAS_NAMESPACE", "SaaS namespace"], ["SELF_MANAGED", "Self-managed instance"]]);
    const deployment = input("deployment", { type: "text", autocomplete: "off", maxlength: 100, placeholder: "200001" });
    const deploymentName = input("deploymentName", { type: "text", autocomplete: "off", maxlength: 100, placeholder: "my-team" });
    const promo = promoField();
    const card = select("card", TEST_CARDS);

    const account = (): BillingAccount | undefined => buyers.find((m) => m.customer.id === customer.value)?.customer.billingAccounts[0];
    const putCard = async () => {
      const paying = account();
      if (!paying) return { code: "NOT_FOUND", message: "The customer has no billing account." };
      const data = await run<{ billingAccountSetPaymentMethod: SetCardResult }>("PortalSetPaymentMethod", {
        input: { billingAccountId: paying.id, paymentMethodToken: card.value, idempotencyKey: newKey("card") },
      });
      const answer = data.billingAccountSetPaymentMethod;
      return isUserError(answer) ? problemOf(answer) : null;
    };

    replace(
      root,
      h("h2", {}, "New subscription"),
      h("p", { class: "note" }, "Price it first; paying puts the test card on the customer's billing account, then places the order."),
      field("Customer", customer),
      field("Plan", plan),
      field("Seats", seats),
      field("Deployment", kind),
      field("Namespace id or instance uuid", deployment),
      field("Deployment name (optional)", deploymentName),
      field("Promo code (optional)", promo, "The demo has WELCOME10: 10% off."),
      field("Test card", card),
      orderFlow({
        placeLabel: "Pay and subscribe",
        input: () => {
          const n = positive(seats.value, "Seats");
          if (typeof n !== "number") return n;
          const externalId = deployment.value.trim();
          if (!externalId) return { code: "VALIDATION", message: "Give the namespace id or instance uuid." };
          const name = deploymentName.value.trim();
          const target = name ? { externalId, kind: kind.value, name } : { externalId, kind: kind.value };
          return withPromo({ customerId: customer.value, actions: [{ createSubscription: { plan: plan.value, seats: n, deployment: target } }] }, promo);
        },
        beforePlace: putCard,
      }),
    );
  } catch (error) {
    replace(root, h("h2", {}, "New subscription"), problemBox(problemFrom(error)));
  }
}
