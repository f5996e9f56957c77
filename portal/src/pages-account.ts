// Sign-in (a demo user picker on development servers, or a bearer token), the dashboard,
// invoices and a partner's customers.

import { run } from "./api.js";
import { button, field, h, input, replace } from "./dom.js";
import { signIn } from "./session.js";
import type { Customer, Invoice, PageInfo, SubscriptionRow, Viewer } from "./types.js";
import { loading, money, pdfLink, problemBox, problemFrom, table } from "./ui.js";

interface DemoUser {
  key: string;
  name: string;
  description: string;
  token: string;
}

/** Only a development server answers /portal/demo-users (never production). */
async function demoUsers(): Promise<DemoUser[]> {
  try {
    const response = await fetch("demo-users", { headers: { Accept: "application/json" } });
    if (!response.ok) return [];
    return ((await response.json()) as { users: DemoUser[] }).users;
  } catch {
    return [];
  }
}

export async function signInPage(root: HTMLElement, done: () => void): Promise<void> {
  const problems = h("div", {});
  const tokenInput = h("textarea", { name: "token", rows: 3, spellcheck: "false", autocomplete: "off" }) as HTMLTextAreaElement;
  const useToken = async (bearer: string): Promise<void> => {
    replace(problems);
    try {
      await run<{ viewer: Viewer | null }>("PortalViewer", {}, bearer);
      signIn(bearer);
      done();
    } catch (error) {
      replace(problems, problemBox(problemFrom(error)));
    }
  };
  replace(root, h("h2", {}, "Sign in"), loading());
  const users = await demoUsers();
  replace(
    root,
    h("h2", {}, "Sign in"),
    problems,
    users.length
      ? h(
          "section",
          { class: "demo-users", "aria-label": "Demo users" },
          h("h3", {}, "Demo users"),
          h("p", { class: "note" }, "This development server signs you in as a demo user (the tokens of `fulfillment demo-tokens`). Production never offers this."),
          h("ul", {}, ...users.map((user) => h("li", {}, button(`${user.name} — ${user.description}`, () => useToken(user.token), { "data-user": user.key })))),
        )
      : null,
    h(
      "section",
      { "aria-label": "Bearer token" },
      h("h3", {}, "Bearer token"),
      field("Token (a user JWT from the SaaS frontend, or a partner API token)", tokenInput),
      button("Sign in with token", () => useToken(tokenInput.value)),
    ),
  );
}

function actionLinks(row: SubscriptionRow): HTMLElement {
  const base = `#/subscriptions/${encodeURIComponent(row.number)}`;
  const links: HTMLElement[] = [];
  if (row.actions.canAddSeats) links.push(h("a", { href: `${base}/add-seats` }, "Add seats"));
  if (row.actions.canUpgrade) links.push(h("a", { href: `${base}/upgrade` }, "Upgrade"));
  if (row.actions.canBuyPacks) links.push(h("a", { href: `${base}/packs` }, "Buy packs"));
  if (row.addOns.length) links.push(h("a", { href: `${base}/add-ons` }, "Duo seats"));
  return h("td", { class: "links" }, ...(links.length ? links : [h("span", { class: "muted" }, row.actions.reason ?? "—")]));
}

export async function dashboardPage(root: HTMLElement): Promise<void> {
  replace(root, h("h2", {}, "Subscriptions"), loading());
  try {
    const data = await run<{ subscriptions: { nodes: SubscriptionRow[] } }>("PortalSubscriptions", { first: 50 });
    const rows = data.subscriptions.nodes.map((row) =>
      h(
        "tr",
        { "data-subscription": row.number },
        h("td", {}, h("strong", {}, row.number), h("br", {}), h("small", {}, row.deployment ? `${row.deployment.name} (${row.deployment.externalId})` : "")),
        h("td", {}, row.customer?.name ?? "—"),
        h("td", {}, row.plan.name, row.pendingChange ? h("small", {}, ` → ${row.pendingChange.plan.name} on ${row.pendingChange.effectiveOn}`) : null),
        h("td", { class: `status ${row.status.toLowerCase()}` }, row.status),
        h("td", { class: "num", "data-test": "seats" }, `${row.seatsInUse} / ${row.seats}`),
        h("td", {}, `${row.termStart} to ${row.termEnd}`, row.autoRenew ? "" : h("small", {}, " (no auto-renew)")),
        h("td", { class: "num" }, row.computeMinutes ? `${row.computeMinutes.available.toLocaleString()} min` : "—"),
        h("td", {}, row.addOns.map((a) => `${a.product.name}: ${a.assignedSeats}/${a.quantity}`).join(", ") || "—"),
        actionLinks(row),
      ),
    );
    replace(
      root,
      h("h2", {}, "Subscriptions"),
      table("Subscriptions", ["Subscription", "Customer", "Plan", "Status", "Seats (in use / paid)", "Term", "Compute", "Add-ons", ""], rows),
    );
  } catch (error) {
    replace(root, h("h2", {}, "Subscriptions"), problemBox(problemFrom(error)));
  }
}

export async function invoicesPage(root: HTMLElement): Promise<void> {
  const list = h("div", {}, loading());
  replace(root, h("h2", {}, "Invoices"), list);
  const rows: HTMLElement[] = [];
  const load = async (after: string | null): Promise<void> => {
    try {
      const data = await run<{ invoices: { nodes: Invoice[]; pageInfo: PageInfo } }>("PortalInvoices", { first: 20, after });
      for (const invoice of data.invoices.nodes) {
        rows.push(
          h(
            "tr",
            { "data-invoice": invoice.number },
            h("td", {}, invoice.number),
            h("td", {}, invoice.customer?.name ?? "—"),
            h("td", {}, invoice.subscription?.number ?? "—"),
            h("td", {}, invoice.issuedOn),
            h("td", {}, invoice.dueOn),
            h("td", { class: `status ${invoice.status.toLowerCase()}` }, invoice.status),
            h("td", { class: "num" }, money(invoice.total)),
            h("td", { class: "num" }, money(invoice.amountDue)),
            h("td", {}, pdfLink(invoice.pdfUrl, invoice.number)),
          ),
        );
      }
      const more = data.invoices.pageInfo.hasNextPage ? button("More", () => load(data.invoices.pageInfo.endCursor)) : null;
      replace(list, table("Invoices", ["Number", "Customer", "Subscription", "Issued", "Due", "Status", "Total", "Due now", "PDF"], rows), more);
    } catch (error) {
      replace(list, problemBox(problemFrom(error)));
    }
  };
  await load(null);
}

export async function customersPage(root: HTMLElement): Promise<void> {
  const list = h("div", {}, loading());
  const search = input("search", { type: "search", maxlength: 200 });
  const load = async (): Promise<void> => {
    replace(list, loading());
    try {
      const term = search.value.trim();
      const data = await run<{ customers: { nodes: Customer[]; pageInfo: PageInfo } }>("PortalCustomers", { first: 50, search: term || null });
      const rows = data.customers.nodes.map((customer) =>
        h(
          "tr",
          { "data-customer": customer.name },
          h("td", {}, h("strong", {}, customer.name)),
          h("td", {}, customer.email),
          h("td", {}, customer.country),
          h("td", {}, customer.kind),
          h(
            "td",
            {},
            h("ul", { class: "plain" }, ...customer.subscriptions.nodes.map((s) => h("li", {}, `${s.number}: ${s.plan.name}, ${s.seats} seats, ${s.status}, term ends ${s.termEnd}`))),
          ),
        ),
      );
      replace(list, table("Customers", ["Customer", "E-mail", "Country", "Kind", "Subscriptions"], rows));
    } catch (error) {
      replace(list, problemBox(problemFrom(error)));
    }
  };
  replace(root, h("h2", {}, "Customers"), h("div", { class: "inline" }, field("Search", search), button("Search", load)), list);
  await load();
}
