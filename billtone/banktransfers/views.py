from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from billtone.accounts.decorators import billing_required
from billtone.banktransfers import selectors, services
from billtone.banktransfers.forms import BankTransferForm
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.services import Actor

PAGE_SIZE = 20


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


@billing_required
@require_GET
def payment_methods(request):
    """Figure 10.4: payment methods; here the business account funded by bank transfer."""
    account = request.account
    business = selectors.business_account_get(
        account=account, reference=services.account_reference_get_or_create(account=account)
    )
    page = Paginator(selectors.bank_transfer_list(account=account), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "business": business,
        "transfers": page,
        "rows": selectors.bank_transfer_rows(requests=page.object_list, locale=business.locale),
    }
    template = (
        "banktransfers/_pending_transfers.html" if request.htmx else "banktransfers/methods.html"
    )
    return render(request, template, context)


@billing_required
@require_http_methods(["GET", "POST"])
def bank_transfer_add(request):
    """Figure 10.5: choose an amount, Next, then the instructions."""
    account = request.account
    business = selectors.business_account_get(account=account)
    limits = services.bank_transfer_amount_limits(currency=business.currency)
    form_args = {"presets": limits.presets, "locale": business.locale}
    if request.method == "POST":
        form = BankTransferForm(request.POST, **form_args)
    else:
        initial = _amount_given(request, business=business, presets=limits.presets)
        form = BankTransferForm(initial=initial, **form_args)
    if request.method == "POST" and business.available and form.is_valid():
        try:
            amount = form.amount(currency=business.currency)
            if amount is None:
                form.add_error("amount_choice", "Choose an amount, or enter another amount.")
            else:
                bank_transfer = services.bank_transfer_create(
                    account=account,
                    amount=amount,
                    actor=_actor(request),
                    idempotency_key=form.submitted_key(),
                )
                url = reverse("banktransfers:bank-transfer", args=[bank_transfer.pk])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        except ValidationFailed as error:
            for message in error.errors.get("amount", [error.detail]):
                form.add_error(form.amount_field(), message)
        except ApplicationError as error:
            form.add_error(None, error.detail)
            form.with_new_key()
    context = {"form": form, "business": business, "limits": limits}
    template = "banktransfers/_add_form.html" if request.htmx else "banktransfers/add.html"
    return render(request, template, context)


def _amount_given(request, *, business, presets) -> dict:
    """`?amount=44.78` (the checkout's shortfall) pre-fills the amount when the form would
    accept it (the same check as the form's amount); anything else is left out."""
    text = str(request.GET.get("amount", "")).strip()[:64]
    if not text:
        return {}
    try:
        amount = services.bank_transfer_amount_clean(
            amount=text, currency=business.currency, locale=business.locale
        )
    except ValidationFailed:
        return {}
    return BankTransferForm.initial_for(amount, presets=presets, locale=business.locale)


@billing_required
@require_GET
def bank_transfer_detail(request, transfer_id: int):
    """The instructions of one request: reference, amount, bank details, QR code; printable."""
    try:
        instructions = selectors.bank_transfer_instructions_get(
            account=request.account, bank_transfer_id=transfer_id
        )
    except NotFound as error:
        raise Http404(error.detail) from None
    return render(request, "banktransfers/instructions.html", {"instructions": instructions})
