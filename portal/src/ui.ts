// Pieces the pages share: errors as the API gives them, money, the quote table, and the
// preview-then-place flow every purchase goes through (orderQuote, then orderPlace).

import { ApiError, type ApiProblem, download, isUserError, newKey, problemOf, run } from "./api.js";
import { button, h, replace } from "./dom.js";
import type { Money, Order, OrderInput, PlaceResult, Quote, QuoteResult } from "./types.js";

export function problemBox(problem: ApiProblem): HTMLElement {
  return h(
    "div",
    { class: "problem", role: "alert", "data-code": problem.code },
    h("strong", { class: "problem-code" }, problem.code),
    " ",
    h("span", { class: "problem-message" }, problem.message),
    problem.detail ? h("span", { class: "problem-detail" }, ` (${problem.detail})`) : null,
  );
}

/** The problem of anything a page's work threw: an API error as given, else its text. */
export function problemFrom(error: unknown): ApiProblem {
  if (error instanceof ApiError) return error.problem;
  return { code: "CLIENT_ERROR", message: error instanceof Error ? error.message : String(error) };
}

export function money(value: Money, test?: string): HTMLElement {
  return h("span", { class: "money", "data-cents": value.amount, "data-test": test }, value.formatted);
}

export function cents(value: Money): string {
  return `${value.amount} cents`;
}

export function pdfLink(url: string, number: string): HTMLElement {
  const link = h("a", { href: url, class: "pdf", "data-pdf": number }, `${number}.pdf`);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const box = link.parentElement?.querySelector(".problem");
    box?.remove();
    download(url, `${number}.pdf`).catch((error: unknown) => link.after(problemBox(problemFrom(error))));
  });
  return link;
}

export function quoteTable(quote: Quote): HTMLElement {
  const rows = quote.lines.map((line) =>
    h(
      "tr",
      { "data-kind": line.kind },
      h("td", {}, line.description),
      h("td", {}, line.periodStart && line.periodEnd ? `${line.periodStart} to ${line.periodEnd}` : "—"),
      h("td", { class: "num" }, line.quantity),
      h("td", { class: "num" }, money(line.unitAmount)),
      h("td", { class: "num" }, money(line.amount, "line-amount")),
    ),
  );
  return h(
    "table",
    { class: "quote", "aria-label": "Quote" },
    h("thead", {}, h("tr", {}, h("th", {}, "Line"), h("th", {}, "Service period"), h("th", {}, "Qty"), h("th", {}, "Unit"), h("th", {}, "Amount"))),
    h("tbody", {}, ...rows),
    h(
      "tfoot",
      {},
      h("tr", {}, h("th", { colspan: 4 }, "Subtotal"), h("td", { class: "num" }, money(quote.subtotal, "subtotal"))),
      h("tr", {}, h("th", { colspan: 4 }, "Discount"), h("td", { class: "num" }, money(quote.discount, "discount"))),
      h(
        "tr",
        { class: "total" },
        h("th", { colspan: 4 }, "Total"),
        h("td", { class: "num" }, money(quote.total, "total"), h("small", { class: "cents", "data-test": "total-cents" }, ` (${cents(quote.total)})`)),
      ),
    ),
  );
}

export function orderSummary(order: Order): HTMLElement {
  const invoice = order.invoice;
  const subscription = order.subscription;
  return h(
    "div",
    { class: "done", role: "status", "data-order-status": order.status },
    h("p", {}, "Order ", h("strong", { "data-test": "order-status" }, order.status), ": ", money(order.total, "order-total"), ` (${cents(order.total)}).`),
    subscription
      ? h(
          "p",
          {},
          "Subscription ",
          h("strong", { "data-test": "subscription-number" }, subscription.number),
          `: ${subscription.plan.name}, `,
          h("span", { "data-test": "subscription-seats" }, subscription.seats),
          ` seats, ${subscription.status}.`,
        )
      : null,
    invoice
      ? h("p", {}, "Invoice ", h("strong", { "data-test": "invoice-number" }, invoice.number), ` (${invoice.status}, `, money(invoice.total), "): ", pdfLink(invoice.pdfUrl, invoice.number))
      : h("p", {}, "Nothing to pay: no invoice."),
  );
}

export interface OrderFlowOptions {
  /** The order to price, or a problem to show instead (a bad form). */
  input: () => OrderInput | ApiProblem;
  /** Runs before the order is placed (the checkout puts its test card on the account). */
  beforePlace?: () => Promise<ApiProblem | null>;
  placeLabel?: string;
  onPlaced?: (order: Order) => void;
}

/** "Preview price" (orderQuote) shows the lines; "Place order" (orderPlace) places exactly
 * that quote with one idempotency key per quote, so a second click replays the first. */
export function orderFlow(options: OrderFlowOptions): HTMLElement {
  const result = h("div", { class: "result", "aria-live": "polite" });
  let quote: Quote | null = null;
  let key = "";

  const preview = async (): Promise<void> => {
    const input = options.input();
    if ("code" in input) {
      replace(result, problemBox(input));
      return;
    }
    replace(result, h("p", { class: "busy" }, "Pricing…"));
    try {
      const data = await run<{ orderQuote: QuoteResult }>("PortalOrderQuote", { input });
      const answer = data.orderQuote;
      if (isUserError(answer)) {
        quote = null;
        replace(result, problemBox(problemOf(answer)));
        return;
      }
      quote = answer;
      key = newKey("order");
      replace(
        result,
        h("h3", {}, "Preview"),
        quoteTable(answer),
        h("p", { class: "note" }, `This price holds until ${new Date(answer.expiresAt).toLocaleString()}.`),
        button(options.placeLabel ?? "Place order", place, { class: "primary", "data-test": "place" }),
      );
    } catch (error) {
      replace(result, problemBox(problemFrom(error)));
    }
  };

  const place = async (): Promise<void> => {
    if (!quote) return;
    const placing = quote;
    const status = h("div", { class: "placing" }, h("p", { class: "busy" }, "Placing the order…"));
    result.querySelector(".placing, .done, .problem")?.remove();
    result.append(status);
    try {
      const refused = options.beforePlace ? await options.beforePlace() : null;
      if (refused) {
        replace(status, problemBox(refused));
        return;
      }
      const data = await run<{ orderPlace: PlaceResult }>("PortalOrderPlace", { quoteToken: placing.token, idempotencyKey: key });
      const answer = data.orderPlace;
      if (isUserError(answer)) {
        replace(status, problemBox(problemOf(answer)));
        return;
      }
      status.replaceWith(orderSummary(answer.order));
      result.querySelector("button[data-test=place]")?.remove();
      options.onPlaced?.(answer.order);
    } catch (error) {
      replace(status, problemBox(problemFrom(error)));
    }
  };

  return h("div", { class: "order-flow" }, button("Preview price", preview, { "data-test": "preview" }), result);
}

export function table(caption: string, headings: string[], rows: HTMLElement[]): HTMLElement {
  return h(
    "table",
    { "aria-label": caption },
    h("thead", {}, h("tr", {}, ...headings.map((text) => h("th", {}, text)))),
    h("tbody", {}, ...(rows.length ? rows : [h("tr", {}, h("td", { colspan: headings.length, class: "empty" }, "None."))])),
  );
}

export function loading(): HTMLElement {
  return h("p", { class: "busy" }, "Loading…");
}
