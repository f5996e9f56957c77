// Pieces the pages share: errors as the API gives them, money, the quote table, and the
// preview-then-place flow every purchase goes through (orderQuote, then orderPlace).
import { ApiError, download, isUserError, newKey, problemOf, run } from "./api.js";
import { button, h, replace } from "./dom.js";
export function problemBox(problem) {
    return h("div", { class: "problem", role: "alert", "data-code": problem.code }, h("strong", { class: "problem-code" }, problem.code), " ", h("span", { class: "problem-message" }, problem.message), problem.detail ? h("span", { class: "problem-detail" }, ` (${problem.detail})`) : null);
}
/** The problem of anything a page's work threw: an API error as given, else its text. */
export function problemFrom(error) {
    if (error instanceof ApiError)
        return error.problem;
    return { code: "CLIENT_ERROR", message: error instanceof Error ? error.message : String(error) };
}
export function money(value, test) {
    return h("span", { class: "money", "data-cents": value.amount, "data-test": test }, value.formatted);
}
export function cents(value) {
    return `${value.amount} cents`;
}
export function pdfLink(url, number) {
    const link = h("a", { href: url, class: "pdf", "data-pdf": number }, `${number}.pdf`);
    link.addEventListener("click", (event) => {
        event.preventDefault();
        const box = link.parentElement?.querySelector(".problem");
        box?.remove();
        download(url, `${number}.pdf`).catch((error) => link.after(problemBox(problemFrom(error))));
    });
    return link;
}
export function quoteTable(quote) {
    const rows = quote.lines.map((line) => h("tr", { "data-kind": line.kind }, h("td", {}, line.description), h("td", {}, line.periodStart && line.periodEnd ? `${line.periodStart} to ${line.periodEnd}` : "—"), h("td", { class: "num" }, line.quantity), h("td", { class: "num" }, money(line.unitAmount)), h("td", { class: "num" }, money(line.amount, "line-amount"))));
    return h("table", { class: "quote", "aria-label": "Quote" }, h("thead", {}, h("tr", {}, h("th", {}, "Line"), h("th", {}, "Service period"), h("th", {}, "Qty"), h("th", {}, "Unit"), h("th", {}, "Amount"))), h("tbody", {}, ...rows), h("tfoot", {}, h("tr", {}, h("th", { colspan: 4 }, "Subtotal"), h("td", { class: "num" }, money(quote.subtotal, "subtotal"))), h("tr", {}, h("th", { colspan: 4 }, "Discount"), h("td", { class: "num" }, money(quote.discount, "discount"))), h("tr", { class: "total" }, h("th", { colspan: 4 }, "Total"), h("td", { class: "num" }, money(quote.total, "total"), h("small", { class: "cents", "data-test": "total-cents" }, ` (${cents(quote.total)})`)))));
}
export function orderSummary(order) {
    const invoice = order.invoice;
    const subscription = order.subscription;
    return h("div", { class: "done", role: "status", "data-order-status": order.status }, h("p", {}, "Order ", h("strong", { "data-test": "order-status" }, order.status), ": ", money(order.total, "order-total"), ` (${cents(order.total)}).`), subscription
        ? h("p", {}, "Subscription ", h("strong", { "data-test": "subscription-number" }, subscription.number), `: ${subscription.plan.name}, `, h("span", { "data-test": "subscription-seats" }, subscription.seats), ` seats, ${subscription.status}.`)
        : null, invoice
        ? h("p", {}, "Invoice ", h("strong", { "data-test": "invoice-number" }, invoice.number), ` (${invoice.status}, `, money(invoice.total), "): ", pdfLink(invoice.pdfUrl, invoice.number))
        : h("p", {}, "Nothing to pay: no invoice."));
}
/** "Preview price" (orderQuote) shows the lines; "Place order" (orderPlace) places exactly
 * that quote with one idempotency key per quote, so a second click replays the first. */
export function orderFlow(options) {
    const result = h("div", { class: "result", "aria-live": "polite" });
    let quote = null;
    let key = "";
    const preview = async () => {
        const input = options.input();
        if ("code" in input) {
            replace(result, problemBox(input));
            return;
        }
        replace(result, h("p", { class: "busy" }, "Pricing…"));
        try {
            const data = await run("PortalOrderQuote", { input });
            const answer = data.orderQuote;
            if (isUserError(answer)) {
                quote = null;
                replace(result, problemBox(problemOf(answer)));
                return;
            }
            quote = answer;
            key = newKey("order");
            replace(result, h("h3", {}, "Preview"), quoteTable(answer), h("p", { class: "note" }, `This price holds until ${new Date(answer.expiresAt).toLocaleString()}.`), button(options.placeLabel ?? "Place order", place, { class: "primary", "data-test": "place" }));
        }
        catch (error) {
            replace(result, problemBox(problemFrom(error)));
        }
    };
    const place = async () => {
        if (!quote)
            return;
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
            const data = await run("PortalOrderPlace", { quoteToken: placing.token, idempotencyKey: key });
            const answer = data.orderPlace;
            if (isUserError(answer)) {
                replace(status, problemBox(problemOf(answer)));
                return;
            }
            status.replaceWith(orderSummary(answer.order));
            result.querySelector("button[data-test=place]")?.remove();
            options.onPlaced?.(answer.order);
        }
        catch (error) {
            replace(status, problemBox(problemFrom(error)));
        }
    };
    return h("div", { class: "order-flow" }, button("Preview price", preview, { "data-test": "preview" }), result);
}
export function table(caption, headings, rows) {
    return h("table", { "aria-label": caption }, h("thead", {}, h("tr", {}, ...headings.map((text) => h("th", {}, text)))), h("tbody", {}, ...(rows.length ? rows : [h("tr", {}, h("td", { colspan: headings.length, class: "empty" }, "None."))])));
}
export function loading() {
    return h("p", { class: "busy" }, "Loading…");
}
