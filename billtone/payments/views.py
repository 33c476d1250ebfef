"""The saved cards of the Payment methods page (Figure 10.4), adding a card, and topping up
with a saved card. Thin: parse, call a service or selector, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.services import Actor
from billtone.ledger.selectors import account_locale
from billtone.payments import selectors, services
from billtone.payments.errors import CardAlreadySaved
from billtone.payments.forms import CardForm, TopUpForm
from billtone.payments.models import Payment, PaymentPurpose

PAYMENT_METHODS = "banktransfers:payment-methods"
MESSAGE_ADDED = "{card} added."


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _redirect(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _section(request, *, notice: str = "", error: str = ""):
    """The cards section alone (HTMX) or the whole Payment methods page."""
    if not request.htmx:
        if notice:
            messages.success(request, notice)
        if error:
            messages.error(request, error)
        return redirect(PAYMENT_METHODS)
    context = {
        "section": selectors.cards_section_get(account=request.account),
        "notice": notice,
        "error": error,
    }
    return render(request, "payments/_cards.html", context)


@billing_required
@require_http_methods(["GET", "POST"])
def card_add(request):
    """Add a card: the number and CVC go to the gateway at once; after an error the form
    shows them empty, never as typed."""
    form = CardForm(request.POST if request.method == "POST" else None)
    errors: dict[str, list[str]] = {}
    already_saved = False
    values = form.kept_values() if form.is_bound else {}
    if request.method == "POST":
        try:
            card = services.card_add(
                account=request.account, actor=_actor(request), **form.card_fields()
            )
        except ApplicationError as error:  # invalid, declined, saved already, or no gateway
            errors = error.errors or {"form": [error.detail]}
            already_saved = isinstance(error, CardAlreadySaved)
        else:
            messages.success(request, MESSAGE_ADDED.format(card=_card_label(card)))
            return _redirect(request, reverse(PAYMENT_METHODS))
    context = {"errors": errors, "values": values, "form": form, "already_saved": already_saved}
    template = "payments/_card_form.html" if request.htmx else "payments/card_add.html"
    return render(request, template, context)


def _card_label(card) -> str:
    return f"{card.brand_display} ending {card.last4}"


@billing_required
@require_POST
def card_set_default(request, card_id: int):
    try:
        card = services.card_set_default(
            account=request.account, card_id=card_id, actor=_actor(request)
        )
    except ApplicationError as error:
        return _section(request, error=error.detail)
    return _section(request, notice=f"{_card_label(card)} is now your default card.")


@billing_required
@require_http_methods(["GET", "POST"])
def card_remove(request, card_id: int):
    """GET asks to confirm; POST removes."""
    try:
        card = selectors.card_get(account=request.account, card_id=card_id)
    except NotFound:
        raise Http404 from None
    if request.method == "GET":
        context = {
            "card": card,
            "expiry": selectors.card_expiry(card=card),
            "in_use": card.is_default and selectors.auto_payments_enabled(account=request.account),
        }
        return render(request, "payments/card_remove.html", context)
    try:
        services.card_remove(account=request.account, card_id=card_id, actor=_actor(request))
    except ApplicationError as error:
        messages.error(request, error.detail)
        return redirect("payments:card-remove", card_id=card_id)
    messages.success(request, f"{_card_label(card)} removed.")
    return redirect(PAYMENT_METHODS)


@billing_required
@require_POST
def automatic_payments(request):
    enabled = request.POST.get("enabled") == "on"
    try:
        services.auto_payments_set(account=request.account, enabled=enabled, actor=_actor(request))
    except ApplicationError as error:
        return _section(request, error=error.detail)
    if enabled:
        return _section(request, notice="Automatic payments now use your default card.")
    return _section(request, notice="Automatic payments are off.")


@billing_required
@require_http_methods(["GET", "POST"])
def top_up(request):
    """Top up business funds or call credit with a saved card, on session."""
    account = request.account
    form = TopUpForm(request.POST if request.method == "POST" else None)
    section = selectors.cards_section_get(account=account)
    errors: dict[str, list[str]] = {}
    values = form.values()
    if request.method == "GET":
        if request.GET.get("purpose") in PaymentPurpose.values:
            values["purpose"] = request.GET["purpose"]
        values.setdefault("card_id", str(section.default.pk) if section.default else "")
    else:
        try:
            amount, card_id, purpose = form.parsed(
                currency=account.billing_profile.currency, locale=account_locale(account=account)
            )
            try:
                card = selectors.card_get(account=account, card_id=card_id)
            except NotFound:
                raise ValidationFailed({"card_id": ["Choose one of your cards."]}) from None
            payment = services.card_charge(
                account=account,
                card=card,
                amount=amount,
                purpose=purpose,
                on_session=True,
                idempotency_key=f"web:{account.pk}:{form.submitted_key()}",
                actor=_actor(request),
            )
        except ApplicationError as error:
            errors = error.errors or {"form": [error.detail]}
        else:
            if payment.status != Payment.Status.FAILED:
                if payment.status == Payment.Status.SUCCEEDED:
                    messages.success(request, _paid_message(payment))
                return _redirect(request, reverse("payments:payment", args=[payment.pk]))
            # A decline: say why, and let the next try be a new payment.
            errors = {"form": [payment.failure_message]}
            values["idempotency_key"] = TopUpForm().initial["idempotency_key"]
    context = {
        "section": section,
        "errors": errors,
        "values": values,
        "purposes": PaymentPurpose.choices,
        "currency": account.billing_profile.currency,
    }
    template = "payments/_top_up_form.html" if request.htmx else "payments/top_up.html"
    return render(request, template, context)


def _paid_message(payment: Payment) -> str:
    what = {
        PaymentPurpose.BUSINESS_FUNDS: "your business funds",
        PaymentPurpose.CALL_CREDIT: "your call credit",
    }.get(payment.purpose, "your account")
    return f"{payment.money.format(account_locale(account=payment.account))} added to {what}."


@billing_required
@require_GET
def payment_detail(request, payment_id: int):
    """One card payment: its outcome, or the Authenticate step while the bank asks."""
    try:
        payment = selectors.payment_get(account=request.account, payment_id=payment_id)
    except NotFound:
        raise Http404 from None
    context = {"payment": payment, "locale": account_locale(account=request.account)}
    return render(request, "payments/payment.html", context)


@billing_required
@require_POST
def payment_authenticate(request, payment_id: int):
    """The customer passed the bank's check (3-D Secure): confirm the payment."""
    try:
        payment = selectors.payment_get(account=request.account, payment_id=payment_id)
        payment = services.charge_confirm(
            account=request.account, payment=payment, actor=_actor(request)
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        if payment.status == Payment.Status.SUCCEEDED:
            messages.success(request, _paid_message(payment))
    return redirect("payments:payment", payment_id=payment_id)
