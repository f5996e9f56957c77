"""The portal in a browser, against a live server and its database: a checkout of a new
subscription with a promo code and a test card, seats added after a prorated preview, and a
declined card, each asserted on the page and in the database; and every request the pages
sent was a registered document by id (the server enforces trusted documents)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from playwright.sync_api import Page, expect

from app.domain.money import prorate
from tests.browser.conftest import Portal, Recorded

PREMIUM_SEAT_YEAR = 348_00  # the demo catalog's Premium, USD cents per seat and year


def _sign_in(page: Page, portal: Portal, who: str) -> None:
    page.goto(portal.url)
    page.get_by_role("button", name=who).click()
    expect(page.locator("tr[data-subscription]").first).to_be_visible()


def _problem(page: Page, where: str = ".result") -> tuple[str | None, str]:
    box = page.locator(f"{where} [role=alert]")
    expect(box).to_be_visible()
    return box.get_attribute("data-code"), box.locator(".problem-message").inner_text()


def _only_trusted_documents(recorded: Recorded) -> list[str]:
    """The operations the page ran; each request named a document by id and sent no text,
    and the page logged no error (a script error, a failed load)."""
    assert [line for line in recorded.console if line.startswith(("error", "pageerror"))] == []
    bodies = [json.loads(body) for body in recorded.graphql_bodies]
    assert bodies, "the page sent no request"
    assert all(body["documentId"].startswith("sha256:") for body in bodies), bodies
    assert not [body for body in bodies if "query" in body]
    return [body["operationName"] for body in bodies]


def test_checkout_with_a_promo_code_and_a_test_card(
    page: Page, portal: Portal, recorded: Recorded
) -> None:
    promo_used = portal.one("SELECT redemptions FROM promotion WHERE code = 'WELCOME10'")[0]
    _sign_in(page, portal, "Alice Owner — owner of Acme Corp")
    page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Plan").select_option("premium")
    page.get_by_label("Seats").fill("5")
    page.get_by_label("Namespace id or instance uuid").fill("300001")
    page.get_by_label("Deployment name (optional)").fill("acme-checkout")
    page.get_by_label("Promo code (optional)").fill("welcome10")  # any case
    page.get_by_label("Test card").select_option("pm_card_mastercard")

    page.get_by_role("button", name="Preview price").click()

    # 5 seats x $348.00 = $1,740.00 for the year; WELCOME10 takes 10%: $174.00.
    quote = page.get_by_role("table", name="Quote")
    expect(quote.locator("[data-test=subtotal]")).to_have_attribute("data-cents", "174000")
    expect(quote.locator("[data-test=discount]")).to_have_attribute("data-cents", "17400")
    expect(quote.locator("[data-test=total]")).to_have_text("$1,566.00")
    expect(quote.locator("[data-test=total-cents]")).to_have_text(" (156600 cents)")
    assert portal.rows("SELECT id FROM deployment WHERE external_id = '300001'") == []

    page.get_by_role("button", name="Pay and subscribe").click()

    done = page.locator(".done")
    expect(done.locator("[data-test=order-status]")).to_have_text("COMPLETED")
    number = done.locator("[data-test=subscription-number]").inner_text()
    invoice_number = done.locator("[data-test=invoice-number]").inner_text()
    expect(done.locator("[data-test=subscription-seats]")).to_have_text("5")
    expect(done.locator("a[data-pdf]")).to_have_attribute(
        "href", f"{portal.server.url}/invoices/{invoice_number}.pdf"
    )

    sub_id, status, seats, plan, deployment, customer = portal.one(
        "SELECT s.id, s.status, s.seats, p.code, d.external_id, c.name FROM subscription s "
        "JOIN product p ON p.id = s.plan_id JOIN deployment d ON d.id = s.deployment_id "
        "JOIN customer c ON c.id = s.customer_id WHERE s.number = ?",
        number,
    )
    assert (status, seats, plan, deployment, customer) == (
        "ACTIVE", 5, "premium", "300001", "Acme Corp"
    )  # fmt: skip
    assert portal.rows(
        'SELECT status, subtotal, discount, total FROM "order" WHERE subscription_id = ?', sub_id
    ) == [("COMPLETED", 174000, 17400, 156600)]
    assert portal.one(
        "SELECT status, subtotal, discount, total, amount_paid FROM invoice WHERE number = ?",
        invoice_number,
    ) == ("PAID", 174000, 17400, 156600, 156600)
    assert portal.one("SELECT payment_method FROM billing_account WHERE name = 'Acme Corp'") == (
        "pm_card_mastercard",
    )
    assert portal.one("SELECT redemptions FROM promotion WHERE code = 'WELCOME10'") == (
        promo_used + 1,
    )
    ran = _only_trusted_documents(recorded)
    assert ran[-3:] == ["PortalOrderQuote", "PortalSetPaymentMethod", "PortalOrderPlace"]


def test_add_seats_previews_the_prorated_cents_then_places(
    page: Page, portal: Portal, recorded: Recorded
) -> None:
    sub_id, seats_before, term_start, term_end = portal.one(
        "SELECT id, seats, term_start, term_end FROM subscription WHERE number = 'A-S00000001'"
    )
    last_order = portal.one('SELECT coalesce(max(id), 0) FROM "order"')[0]
    today = datetime.now(UTC).date()
    expected = prorate(
        3 * PREMIUM_SEAT_YEAR,
        today,
        date.fromisoformat(str(term_start)),
        date.fromisoformat(str(term_end)),
    )
    assert 0 < expected < 3 * PREMIUM_SEAT_YEAR  # mid-term: a share of the year
    _sign_in(page, portal, "Alice Owner — owner of Acme Corp")
    page.locator("tr[data-subscription=A-S00000001]").get_by_role("link", name="Add seats").click()
    page.get_by_label("Seats to add").fill("3")

    page.get_by_role("button", name="Preview price").click()

    quote = page.get_by_role("table", name="Quote")
    line = quote.locator("tbody tr")
    expect(line).to_have_count(1)
    expect(line.locator("[data-test=line-amount]")).to_have_attribute("data-cents", str(expected))
    expect(line).to_contain_text(f"{today.isoformat()} to {term_end}")
    expect(quote.locator("[data-test=total-cents]")).to_have_text(f" ({expected} cents)")
    assert portal.one("SELECT seats FROM subscription WHERE id = ?", sub_id) == (seats_before,)

    page.get_by_role("button", name="Place order").click()

    done = page.locator(".done")
    expect(done.locator("[data-test=order-status]")).to_have_text("COMPLETED")
    expect(done.locator("[data-test=order-total]")).to_have_attribute("data-cents", str(expected))
    expect(done.locator("[data-test=subscription-seats]")).to_have_text(str(seats_before + 3))
    invoice_number = done.locator("[data-test=invoice-number]").inner_text()
    assert portal.one("SELECT seats FROM subscription WHERE id = ?", sub_id) == (seats_before + 3,)
    assert portal.rows(
        'SELECT subscription_id, status, total FROM "order" WHERE id > ?', last_order
    ) == [(sub_id, "COMPLETED", expected)]
    assert portal.one(
        "SELECT i.status, i.total, l.quantity, l.amount FROM invoice i "
        "JOIN invoice_line l ON l.invoice_id = i.id WHERE i.number = ?",
        invoice_number,
    ) == ("PAID", expected, 3, expected)
    ran = _only_trusted_documents(recorded)
    assert ran[-2:] == ["PortalOrderQuote", "PortalOrderPlace"]

    # Placing again replays the order (one idempotency key per quote): nothing charged twice.
    assert page.get_by_role("button", name="Place order").count() == 0


def test_a_declined_card_shows_the_api_error_and_buys_nothing(
    page: Page, portal: Portal, recorded: Recorded
) -> None:
    counts = "SELECT (SELECT count(*) FROM subscription), (SELECT count(*) FROM deployment)"
    before = portal.one(counts)
    failed_before = portal.one("SELECT count(*) FROM \"order\" WHERE status = 'FAILED'")[0]
    _sign_in(page, portal, "Olga Other — owner of Globex Inc")
    page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Plan").select_option("premium")
    page.get_by_label("Seats").fill("2")
    page.get_by_label("Namespace id or instance uuid").fill("300002")
    page.get_by_label("Test card").select_option("pm_card_declined")
    page.get_by_role("button", name="Preview price").click()
    expect(page.get_by_role("table", name="Quote").locator("[data-test=total]")).to_have_text(
        "$696.00"
    )

    page.get_by_role("button", name="Pay and subscribe").click()

    code, message = _problem(page, ".placing")
    assert (code, message) == (
        "PAYMENT_DECLINED",
        "The payment was declined (card_declined); its invoice was voided.",
    )
    expect(page.locator(".placing .problem-detail")).to_have_text(" (decline code: card_declined)")
    expect(page.locator(".done")).to_have_count(0)
    assert portal.one(counts) == before  # no subscription, no deployment
    assert portal.rows("SELECT id FROM deployment WHERE external_id = '300002'") == []
    [(status, total, invoice_status)] = portal.rows(
        'SELECT o.status, o.total, i.status FROM "order" o JOIN customer c ON c.id = o.customer_id '
        "JOIN invoice i ON i.order_id = o.id WHERE c.name = 'Globex Inc' AND o.status = 'FAILED'"
    )
    assert (status, total, invoice_status) == ("FAILED", 2 * PREMIUM_SEAT_YEAR, "VOID")
    assert portal.one("SELECT count(*) FROM \"order\" WHERE status = 'FAILED'") == (
        failed_before + 1,
    )
    assert portal.one("SELECT payment_method FROM billing_account WHERE name = 'Globex Inc'") == (
        "pm_card_declined",
    )
    _only_trusted_documents(recorded)


def test_duo_seats_are_assigned_and_a_refusal_is_shown_as_given(
    page: Page, portal: Portal, recorded: Recorded
) -> None:
    assigned = (
        "SELECT a.user_id FROM add_on_assignment a JOIN add_on_purchase p "
        "ON p.id = a.add_on_purchase_id JOIN subscription s ON s.id = p.subscription_id "
        "WHERE s.number = 'A-S00000001' ORDER BY a.id"
    )
    before = [row[0] for row in portal.rows(assigned)]
    assert before == ["user-2001", "user-2002", "user-2003"]
    _sign_in(page, portal, "Alice Owner — owner of Acme Corp")
    page.locator("tr[data-subscription=A-S00000001]").get_by_role("link", name="Duo seats").click()
    section = page.locator("section[data-add-on=duo_pro]")
    expect(section.locator("[data-test=add-on-seats]")).to_have_text(
        "3 of 5 seats assigned, 2 available."
    )

    section.get_by_label("User ids to assign (comma-separated)").fill("stranger-1")
    section.get_by_role("button", name="Assign", exact=True).click()

    code, message = _problem(page, "section[data-add-on=duo_pro]")
    assert code == "USER_NOT_A_MEMBER"
    assert "stranger-1" in message
    assert [row[0] for row in portal.rows(assigned)] == before

    section.get_by_label("User ids to assign (comma-separated)").fill("demo-viewer")
    section.get_by_role("button", name="Assign", exact=True).click()

    expect(section.locator("[data-test=add-on-seats]")).to_have_text(
        "4 of 5 seats assigned, 1 available."
    )
    expect(section.locator("tr[data-user=demo-viewer]")).to_contain_text("you")
    assert [row[0] for row in portal.rows(assigned)] == [*before, "demo-viewer"]
    assert "PortalAddOnSeatAssign" in _only_trusted_documents(recorded)


def test_invoices_list_with_pdf_links_that_download(
    page: Page, portal: Portal, recorded: Recorded
) -> None:
    expected = [
        row[0]
        for row in portal.rows(
            "SELECT i.number FROM invoice i JOIN customer c ON c.id = i.customer_id "
            "WHERE c.name = 'Globex Inc' ORDER BY i.issued_on DESC, i.id DESC"
        )
    ]
    _sign_in(page, portal, "Olga Other — owner of Globex Inc")
    page.get_by_role("link", name="Invoices").click()

    rows = page.get_by_role("table", name="Invoices").locator("tbody tr[data-invoice]")
    expect(rows).to_have_count(len(expected))
    assert [rows.nth(i).get_attribute("data-invoice") for i in range(len(expected))] == expected
    first = expected[0]
    with page.expect_download() as download:
        page.locator(f"a[data-pdf={first}]").click()

    assert download.value.suggested_filename == f"{first}.pdf"
    path = download.value.path()
    assert path.read_bytes().startswith(b"%PDF-")
    _only_trusted_documents(recorded)


def test_a_partner_lists_its_customers(page: Page, portal: Portal, recorded: Recorded) -> None:
    expected = portal.rows(
        "SELECT c.name FROM customer c JOIN partner p ON p.id = c.managing_partner_id "
        "WHERE p.name = 'Northwind Cloud Partners' ORDER BY c.name"
    )
    assert expected == [("Initech",)]
    _sign_in(page, portal, "Northwind API — partner Northwind Cloud Partners")
    expect(page.locator("[data-test=viewer]")).to_have_text(
        "Northwind API (partner Northwind Cloud Partners)"
    )

    page.get_by_role("link", name="Customers").click()

    rows = page.get_by_role("table", name="Customers").locator("tbody tr[data-customer]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Initech")
    expect(rows.first).to_contain_text("A-S00000006: Ultimate, 120 seats, ACTIVE")
    assert page.get_by_role("link", name="New subscription").count() == 0
    assert _only_trusted_documents(recorded)[-1] == "PortalCustomers"
