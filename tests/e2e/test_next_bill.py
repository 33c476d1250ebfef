"""Issue 18's Done-when for Next Bill, in a real browser, for the demo's Acme (users on the
National and International plans, a number; its VAT ID cleared so that German VAT is
charged and checked): the overview's card leads to Next Bill, whose numbers are read off
the page (dates, lines, tax, total, how it is paid); then the bill run runs as at that
bill's moment (`bill_run(at=...)` under a travelled clock, the live server in this process)
and the invoice it issues equals, line for line and cent for cent, what the page showed: on
the Invoices page, in the database and in its PDF's text. Globex's Next Bill, which nothing
will pay, shows the warning with its links. Taken at 1280 and 390 px."""

import re
from datetime import timedelta

import pypdfium2
import pytest
import time_machine
from playwright.sync_api import expect

from billtone.accounts.models import Account, BillingProfile
from billtone.billing.selectors import next_bills
from billtone.billing.services import bill_run
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.invoicing.models import Invoice
from billtone.ledger.selectors import account_locale

from .test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = pytest.mark.e2e

CELLS = ("item", "period", "quantity", "unit-price", "amount")


def _text(locator) -> str:
    return re.sub(r"[ \t\r\n]+", " ", locator.inner_text()).strip()  # keeps money's NBSP


def _shown_bill(section) -> dict:
    """What the page shows of one bill: its date, lines, tax rows and totals, as text."""
    return {
        "date": section.locator("h2 time").get_attribute("datetime"),
        "lines": [
            tuple(_text(row.locator(f"td.{cell}")) for cell in CELLS)
            for row in section.locator("tr.bill-line").all()
        ],
        "taxes": [
            (row.get_attribute("data-rate"), row.locator("td").inner_text().strip())
            for row in section.locator("tr.bill-tax").all()
        ],
        "net": section.locator("tr.bill-net td").inner_text().strip(),
        "total": section.locator("tr.bill-total td").inner_text().strip(),
        "payment": section.locator(".bill-payment").inner_text().strip(),
    }


def _fits(page) -> None:
    assert page.evaluate(WIDER_THAN_VIEWPORT) == [], f"{page.url} scrolls sideways at 390 px"


def test_next_bill_equals_the_invoice_the_bill_run_issues(page, login, shot, artifacts):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    BillingProfile.objects.filter(account=acme).update(tax_id="")  # German VAT, 19 %
    locale = account_locale(account=Account.objects.get(pk=acme.pk))

    login(page, "owner@acme.example", DEMO_PASSWORD)
    card = page.locator("#next-bill-card")
    expect(card).to_contain_text("Next bill")
    card_date = page.locator("#next-bill-card-date").get_attribute("datetime")
    card_total = page.locator("#next-bill-card-total").inner_text().strip()
    shot("overview")
    card.get_by_role("link", name="View all future bills").click()
    expect(page).to_have_url("/billing/next-bill/")
    bills = page.locator("section.bill")
    expect(bills).to_have_count(3)
    shot("next-bill-desktop")

    shown = _shown_bill(bills.first)
    later = [_shown_bill(bills.nth(n)) for n in (1, 2)]
    assert shown["date"] == card_date and shown["total"] == card_total
    assert shown["date"] < later[0]["date"] < later[1]["date"]  # one a month, in order
    assert len(shown["lines"]) == 3  # two users, a number
    assert {line[0].split(":")[0] for line in shown["lines"]} >= {
        "National plan",
        "International plan",
    }
    assert [rate for rate, _ in shown["taxes"]] == ["19.00"]
    assert "business funds" in shown["payment"]  # Acme's funds cover it

    page.set_viewport_size(WIDTHS["phone"])
    page.reload()
    _fits(page)
    assert _shown_bill(page.locator("section.bill").first) == shown  # the same, stacked
    shot("next-bill-phone")
    page.set_viewport_size(WIDTHS["desktop"])

    # Globex (demo/billing.py): its first bill is open, nothing will pay the next: a warning.
    page.context.clear_cookies()
    login(page, "owner@globex.example", DEMO_PASSWORD)
    page.goto("/billing/next-bill/")
    expect(page.locator("#unpaid-bills")).to_contain_text("Still unpaid: INV-")
    warning = page.locator("section.bill").first.locator(".warning")
    expect(warning).to_contain_text("Neither your business funds nor a card")
    expect(warning.get_by_role("link", name="Add Bank Transfer")).to_be_visible()
    expect(warning.get_by_role("link", name="Payment methods")).to_be_visible()
    shot("next-bill-warning-desktop")
    page.set_viewport_size(WIDTHS["phone"])
    page.reload()
    _fits(page)
    shot("next-bill-warning-phone")
    page.set_viewport_size(WIDTHS["desktop"])
    page.context.clear_cookies()
    login(page, "owner@acme.example", DEMO_PASSWORD)

    # The bill run, as at the first bill's moment: the invoice is issued and paid from funds.
    [predicted, *_] = next_bills(account=acme, count=1)
    assert predicted.issue_date.isoformat() == shown["date"]
    with time_machine.travel(predicted.moment + timedelta(seconds=1), tick=False):
        run = bill_run(actor=Actor.system("e2e"), at=predicted.moment)
    assert run.status == "finished" and run.invoiced >= 1
    invoice = Invoice.objects.get(account=acme, source_key__startswith="bill:")
    assert invoice.issue_date.isoformat() == shown["date"] and invoice.status == "paid"

    def money(amount) -> str:
        return Money(amount, invoice.currency).format(locale)

    issued = [
        (
            line.description,
            f"{line.period_start:%-d %b %Y} – {line.period_end:%-d %b %Y}",
            str(line.quantity),
            money(line.unit_price),
            money(line.net),
        )
        for line in invoice.lines.order_by("position")
    ]
    assert issued == shown["lines"]  # line for line, cent for cent
    assert money(invoice.net) == shown["net"] and money(invoice.gross) == shown["total"]
    taxes = [(f"{tax.rate:.2f}", money(tax.tax)) for tax in invoice.taxes.order_by("rate")]
    assert taxes == shown["taxes"]

    page.goto("/billing/invoices/")
    row = page.locator("#invoices tbody tr", has_text=invoice.number)
    expect(row).to_contain_text(shown["total"])
    expect(row.locator("time")).to_have_attribute("datetime", shown["date"])
    shot("invoices")
    page.set_viewport_size(WIDTHS["phone"])
    page.reload()
    _fits(page)
    shot("invoices-phone")
    page.set_viewport_size(WIDTHS["desktop"])

    download_link = page.get_by_label(f"Download {invoice.number} (PDF)")
    expect(download_link).to_be_visible(timeout=10_000)
    with page.expect_download() as download:
        download_link.click()
    pdf = artifacts / download.value.suggested_filename
    download.value.save_as(pdf)
    document = pypdfium2.PdfDocument(pdf)
    document[0].render(scale=1.5).to_pil().save(artifacts / "invoice-page-1.png")
    text = " ".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    text = re.sub(r"\s+", " ", text)  # the PDF's spaces, NBSP included, as one space

    def in_pdf(shown_text: str) -> bool:
        return re.sub(r"\s+", " ", shown_text) in text

    for description, _period, _qty, unit_price, amount in shown["lines"]:
        assert in_pdf(description) and in_pdf(unit_price) and in_pdf(amount), description
    assert in_pdf(shown["net"]) and in_pdf(shown["taxes"][0][1]) and in_pdf(shown["total"])

    # Next Bill moves on: the billed month is gone, the next one leads. (Weeks later by the
    # clock: the session has expired, so log in again.)
    with time_machine.travel(predicted.moment + timedelta(minutes=5), tick=True):
        login(page, "owner@acme.example", DEMO_PASSWORD)
        page.goto("/billing/next-bill/")
        assert _shown_bill(page.locator("section.bill").first)["date"] == later[0]["date"]
    shot("next-bill-after-the-run")
