// The portal's shell: who is signed in, the navigation, and the page for the location's hash.
import { ApiError, run } from "./api.js";
import { h, replace } from "./dom.js";
import { addOnsPage, addSeatsPage, checkoutPage, packsPage, upgradePage } from "./pages-buy.js";
import { customersPage, dashboardPage, invoicesPage, signInPage } from "./pages-account.js";
import { signOut, token } from "./session.js";
import { problemBox, problemFrom } from "./ui.js";
const header = document.getElementById("who");
const nav = document.getElementById("nav");
const main = document.getElementById("page");
function go(hash) {
    if (location.hash === hash)
        void route();
    else
        location.hash = hash;
}
function navigation(viewer) {
    const links = [["#/", "Subscriptions"]];
    if (viewer.kind === "CUSTOMER_USER")
        links.push(["#/checkout", "New subscription"]);
    if (viewer.kind === "PARTNER" || viewer.kind === "ADMIN")
        links.push(["#/customers", "Customers"]);
    links.push(["#/invoices", "Invoices"]);
    replace(nav, ...links.map(([href, text]) => h("a", { href, "aria-current": location.hash === href || (href === "#/" && !location.hash) ? "page" : null }, text)));
    const signOutButton = h("button", { type: "button", class: "link" }, "Sign out");
    signOutButton.addEventListener("click", () => {
        signOut();
        go("#/sign-in");
    });
    const who = viewer.partner ? `${viewer.name} (partner ${viewer.partner.name})` : viewer.name;
    replace(header, h("span", { "data-test": "viewer" }, who), " ", signOutButton);
}
async function route() {
    const path = location.hash.replace(/^#/, "") || "/";
    if (!token() || path === "/sign-in") {
        replace(nav);
        replace(header);
        await signInPage(main, () => go("#/"));
        return;
    }
    let viewer;
    try {
        viewer = (await run("PortalViewer")).viewer;
    }
    catch (error) {
        if (error instanceof ApiError && error.problem.code === "UNAUTHENTICATED") {
            signOut();
            await signInPage(main, () => go("#/"));
            main.prepend(problemBox(error.problem));
            return;
        }
        replace(main, problemBox(problemFrom(error)));
        return;
    }
    if (!viewer) {
        signOut();
        go("#/sign-in");
        return;
    }
    navigation(viewer);
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts.length === 0)
        return dashboardPage(main);
    if (parts[0] === "invoices")
        return invoicesPage(main);
    if (parts[0] === "customers")
        return customersPage(main);
    if (parts[0] === "checkout")
        return checkoutPage(main);
    if (parts[0] === "subscriptions" && parts.length === 3) {
        const number = parts[1];
        if (parts[2] === "add-seats")
            return addSeatsPage(main, number);
        if (parts[2] === "upgrade")
            return upgradePage(main, number);
        if (parts[2] === "packs")
            return packsPage(main, number);
        if (parts[2] === "add-ons")
            return addOnsPage(main, number);
    }
    replace(main, problemBox({ code: "NOT_FOUND", message: "No such page." }));
}
window.addEventListener("hashchange", () => void route());
void route();
