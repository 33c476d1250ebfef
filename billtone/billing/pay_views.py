"""The Pay page of an open invoice: business funds (if they cover it), a saved card or a new
card; the card's outcome page with the bank's 3-D Secure step. Thin: parse, call, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from billtone.accounts.decorators import billing_required
from billtone.basket.forms import int_or_none, new_card_fields, new_key
from billtone.billing.services.pay import (
    METHODS,
    invoice_pay_confirm,
    invoice_payment_get,
)
from billtone.billing.services.pay import (
    invoice_pay as pay,
)
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.pdf import invoice_locale
from billtone.invoicing.selectors import invoice_get
from billtone.invoicing.services import invoice_amount_due
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments.selectors import cards_section_get


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _invoice(request, invoice_id: int) -> Invoice:
    try:
        return invoice_get(account=request.account, invoice_id=invoice_id)
    except NotFound:
        raise Http404 from None


def _context(request, invoice: Invoice, *, values: dict, error: str = "", errors=None) -> dict:
    due = invoice_amount_due(invoice)
    funds = Money(
        customer_ledger_accounts(account=request.account).business_funds.balance, due.currency
    ).rounded()
    cards = cards_section_get(account=request.account).chargeable
    covers = funds >= due
    if not covers and values.get("method", "funds") == "funds":
        values["method"] = "saved_card" if cards else "new_card"
    values.setdefault("method", "funds")
    return {
        "invoice": invoice,
        "locale": invoice_locale(invoice),
        "due": due,
        "gross": Money(invoice.gross, invoice.currency),
        "credited": Money(invoice.credited, invoice.currency),
        "funds": funds,
        "covers": covers,
        "cards": cards,
        "values": values,
        "error": error,
        "errors": errors or {},
        "idempotency_key": new_key(),
    }


@billing_required
@require_http_methods(["GET", "POST"])
def invoice_pay(request, invoice_id: int):
    """GET: what is due and the ways to pay it (or that it is paid); POST: pay."""
    invoice = _invoice(request, invoice_id)
    if request.method == "GET":
        return render(request, "billing/invoice_pay.html", _context(request, invoice, values={}))
    data = request.POST
    method = data.get("method") if data.get("method") in METHODS else "funds"
    values = {
        "method": method,
        "card_id": str(data.get("card_id", "")),
        "save_card": bool(data.get("save_card")),
    }
    try:
        result = pay(
            account=request.account,
            invoice_id=invoice.pk,
            method=method,
            idempotency_key=f"web:{str(data.get('idempotency_key', ''))[:64] or new_key()}",
            actor=_actor(request),
            card_id=int_or_none(data.get("card_id")),
            new_card=new_card_fields(data) if method == "new_card" else None,
            save_card=values["save_card"],
        )
    except ApplicationError as refusal:
        invoice = _invoice(request, invoice_id)
        context = _context(
            request, invoice, values=values, error=refusal.detail, errors=refusal.errors
        )
        return render(request, "billing/invoice_pay.html", context)
    if result.payment is not None:
        url = reverse("billing-pay:invoice-pay-result", args=[invoice.pk, result.payment.pk])
    else:
        messages.success(request, f"Invoice {invoice.number} is paid.")
        url = reverse("billing-pay:invoice-pay", args=[invoice.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@billing_required
@require_GET
def invoice_pay_result(request, invoice_id: int, payment_id: int):
    """The card payment's outcome: paid, waiting for the bank (3-D Secure), or declined."""
    invoice = _invoice(request, invoice_id)
    try:
        payment = invoice_payment_get(
            account=request.account, invoice_id=invoice.pk, payment_id=payment_id
        )
    except NotFound:
        raise Http404 from None
    context = {"invoice": invoice, "payment": payment, "locale": invoice_locale(invoice)}
    return render(request, "billing/invoice_pay_result.html", context)


@billing_required
@require_POST
def invoice_pay_authenticate(request, invoice_id: int, payment_id: int):
    """The customer passed the bank's check (3-D Secure): confirm the payment, then pay."""
    try:
        invoice_pay_confirm(
            account=request.account,
            invoice_id=invoice_id,
            payment_id=payment_id,
            actor=_actor(request),
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        messages.error(request, error.detail)
    return redirect("billing-pay:invoice-pay-result", invoice_id=invoice_id, payment_id=payment_id)
