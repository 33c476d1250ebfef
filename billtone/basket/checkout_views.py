"""Checkout pages: choose how to pay (business funds, a saved card, a new card), the outcome,
and the bank's 3-D Secure step. Thin: parse, call a service or selector, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from billtone.accounts.decorators import billing_required
from billtone.banktransfers.selectors import operator_bank_account_get
from billtone.basket import selectors, services
from billtone.basket.errors import Shortfall
from billtone.basket.forms import int_or_none, new_card_fields, new_key, quote_sign, quote_unsign
from billtone.basket.views import _actor
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.money import Money
from billtone.ledger.selectors import account_locale
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments.selectors import cards_section_get

METHODS = ("funds", "saved_card", "new_card")


def _funds(account, currency: str) -> Money:
    return Money(
        customer_ledger_accounts(account=account).business_funds.balance, currency
    ).rounded()


def _context(request, *, view, values: dict, error: str = "", errors=None, shortfall=None):
    funds = _funds(request.account, view.currency)
    if shortfall is None and not view.is_empty and funds < view.gross:
        shortfall = view.gross - funds
    cards = cards_section_get(account=request.account).chargeable
    if shortfall is not None and values.get("method", "funds") == "funds":
        # Business funds cannot pay: "Pay" is offered for a card (the funds' choice is off).
        values["method"] = "saved_card" if cards else "new_card"
    values.setdefault("method", "funds")
    top_up = ""
    if shortfall is not None and operator_bank_account_get(currency=view.currency):
        top_up = f"{reverse('banktransfers:bank-transfer-add')}?amount={shortfall.plain()}"
    return {
        "view": view,
        "funds": funds,
        "shortfall": shortfall,
        "top_up": top_up,  # Add Bank Transfer, the missing amount filled in; "" without a bank
        "cards": cards,
        "values": values,
        "error": error,
        "errors": errors or {},
        "shown_quote": quote_sign(view.quote.as_json()),
        "idempotency_key": new_key(),
    }


@billing_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    """GET: the totals and the ways to pay; POST: pay, then the outcome's page."""
    account = request.account
    if request.method == "GET":
        view = selectors.basket_quote_get(account=account)
        if view.is_empty:
            return redirect("basket:basket")
        return render(request, "basket/checkout.html", _context(request, view=view, values={}))
    data = request.POST
    method = data.get("method") if data.get("method") in METHODS else "funds"
    values = {
        "method": method,
        "card_id": str(data.get("card_id", "")),
        "save_card": bool(data.get("save_card")),
    }
    common = {
        "account": account,
        "idempotency_key": f"web:{str(data.get('idempotency_key', ''))[:64] or new_key()}",
        "actor": _actor(request),
        "shown_quote": quote_unsign(data.get("shown_quote", "")),
    }
    error, errors, shortfall = "", {}, None
    try:
        if method == "funds":
            result = services.checkout_with_funds(**common)
        elif method == "saved_card":
            result = services.checkout_with_card(card_id=int_or_none(data.get("card_id")), **common)
        else:
            result = services.checkout_with_card(
                new_card=new_card_fields(data), save_card=values["save_card"], **common
            )
    except Shortfall as refusal:
        shortfall = refusal.shortfall  # said once: under Business funds, not in a banner too
    except ApplicationError as refusal:
        error, errors = refusal.detail, refusal.errors
    else:
        url = reverse("basket:checkout_result", args=[result.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    view = selectors.basket_quote_get(account=account)
    context = _context(
        request, view=view, values=values, error=error, errors=errors, shortfall=shortfall
    )
    return render(request, "basket/checkout.html", context, status=200)


@billing_required
@require_GET
def checkout_result(request, checkout_id: int):
    """The outcome: paid (with the invoice), waiting for the bank (3-D Secure), or failed."""
    try:
        found = selectors.checkout_get(account=request.account, checkout_id=checkout_id)
    except NotFound:
        raise Http404 from None
    context = {
        "checkout": found,
        "locale": account_locale(account=request.account),
        "done": _what_was_done(found.quote),
    }
    return render(request, "basket/checkout_result.html", context)


DONE = {  # what a paid checkout did, by the kinds of invoice lines it bought
    "both": "your users and numbers are active",
    "plan": "your users are active",
    "number": "your numbers are active",
    "credit_pack": "call credit is on your balance",
    "store_item": "store items are ordered",
}


def _what_was_done(quote: dict) -> str:
    """Only what was bought: "Your users and numbers are active, … and store items are
    ordered."."""
    kinds = {line.get("kind") for line in (quote or {}).get("lines", [])}
    if {"plan", "number"} <= kinds:
        kinds = (kinds - {"plan", "number"}) | {"both"}
    parts = [text for kind, text in DONE.items() if kind in kinds]
    if not parts:
        return ""
    sentence = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return sentence[0].upper() + sentence[1:] + "."


@billing_required
@require_POST
def checkout_authenticate(request, checkout_id: int):
    """The customer passed the bank's check (3-D Secure): confirm the payment, then pay."""
    try:
        services.checkout_complete(
            account=request.account, checkout_id=checkout_id, actor=_actor(request)
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        messages.error(request, error.detail)
    return redirect("basket:checkout_result", checkout_id=checkout_id)
