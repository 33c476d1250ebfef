"""The basket page and the pages that add to it (users, numbers, call credit, store items).
Thin: parse, call a service or selector, render. The checkout pages are in checkout_views.py.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from billtone.accounts.decorators import billing_required
from billtone.basket import selectors, services
from billtone.basket.forms import int_or_none, user_fields
from billtone.basket.templatetags.basket import line_text
from billtone.catalog.selectors import credit_quick_add, products_offered
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.services import Actor
from billtone.ledger.selectors import account_locale
from billtone.telephony.selectors import numbers_available

BASKET = "basket:basket"
NUMBER_TYPES = [
    ("geographic", "Geographic"),
    ("national", "National"),
    ("mobile", "Mobile"),
    ("toll_free", "Toll-free"),
]


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _redirect(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _basket(request, *, error: str = "", notice: str = ""):
    """The basket alone (HTMX) or the whole page."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        if notice:
            messages.success(request, notice)
        return redirect(BASKET)
    view = selectors.basket_quote_get(account=request.account)
    context = {"view": view, "error": error, "notice": notice}
    return render(request, "basket/_basket.html", context)


@billing_required
@require_GET
def basket(request):
    """The basket: its lines, totals, Cancel (leaves it as it is) and Checkout."""
    view = selectors.basket_quote_get(account=request.account)
    return render(request, "basket/basket.html", {"view": view})


@billing_required
@require_POST
def line_quantity(request, line_id: int):
    """-/+ (step) or a quantity typed."""
    step = request.POST.get("step")
    try:
        if step in ("1", "-1"):
            services.basket_line_quantity_step(
                account=request.account, line_id=line_id, step=int(step), actor=_actor(request)
            )
        else:
            services.basket_line_quantity_set(
                account=request.account,
                line_id=line_id,
                quantity=request.POST.get("quantity", ""),
                actor=_actor(request),
            )
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        return _basket(request, error=error.detail)
    return _basket(request)


@billing_required
@require_POST
def product_remove(request, product_id: int):
    """The bin: every line of the product; the notice names what went."""
    removed = _labels(request.account, product_id)
    try:
        services.basket_product_remove(
            account=request.account, product_id=product_id, actor=_actor(request)
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        return _basket(request, error=error.detail)
    return _basket(request, notice=f"{removed} removed from the basket.")


def _labels(account, product_id: int) -> str:
    """What the bin takes away, as the basket shows it: "National plan: Grace Hopper
    (extension 201)", numbers formatted, several lines joined."""
    lines = selectors.basket_lines(account=account)
    in_range = 0 < product_id <= selectors.ID_MAX
    labels = [line_text(line) for line in lines.filter(product_id=product_id)] if in_range else []
    if not labels:
        return "The item"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


@billing_required
@require_POST
def basket_empty(request):
    services.basket_empty(account=request.account, actor=_actor(request))
    return _basket(request, notice="The basket is empty.")


def _offers(request, kind: str):
    return products_offered(currency=request.account.billing_profile.currency, kind=kind)


@billing_required
@require_http_methods(["GET", "POST"])
def user_add(request):
    """A phone user: name, email, extension, plan. On a paid plan it waits in the basket."""
    errors: dict[str, list[str]] = {}
    values = user_fields(request.POST) if request.method == "POST" else {}
    if request.method == "POST":
        try:
            line = services.basket_user_add(
                account=request.account, actor=_actor(request), **values
            )
        except ApplicationError as error:
            errors = error.errors or {"form": [error.detail]}
            if "plan" in errors:
                errors["plan_id"] = errors.pop("plan")
        else:
            if line is None:
                messages.success(
                    request, f"{values['name'].strip()} is active: their plan has no fee."
                )
            else:
                messages.success(request, f"{values['name'].strip()} added to the basket.")
            return _redirect(request, reverse(BASKET))
    context = {
        "errors": errors,
        "values": values,
        "plans": _offers(request, "plan"),
        "tax": selectors.tax_shown(account=request.account),
        "locale": account_locale(account=request.account),
    }
    return render(request, "basket/user_add.html", context)


@billing_required
@require_http_methods(["GET", "POST"])
def number_add(request):
    """Pick a number from the inventory, filtered by country and type; it is held for the
    account while it waits in the basket."""
    error = ""
    if request.method == "POST":
        try:
            services.basket_number_add(
                account=request.account,
                number_id=int_or_none(request.POST.get("number_id")) or 0,
                actor=_actor(request),
            )
        except ApplicationError as failure:
            error = failure.detail
        else:
            messages.success(request, "Number added to the basket and held for you.")
            return _redirect(request, reverse(BASKET))
    offers = {offer.product.pk: offer for offer in _offers(request, "number")}
    country = str(request.GET.get("country", "")).strip().upper()[:2]
    number_type = str(request.GET.get("type", "")).strip()
    if number_type not in dict(NUMBER_TYPES):
        number_type = ""
    numbers = [
        (number, offers[number.product_id])
        for number in numbers_available(country=country or None, number_type=number_type or None)
        if number.product_id in offers
    ]
    countries = sorted({offer.product.number_country for offer in offers.values()})
    context = {
        "numbers": numbers,
        "countries": countries,
        "types": NUMBER_TYPES,
        "country": country,
        "number_type": number_type,
        "error": error,
        "locale": account_locale(account=request.account),
    }
    template = (
        "basket/_numbers.html"
        if request.htmx and request.method == "GET"
        else ("basket/number_add.html")
    )
    return render(request, template, context)


@billing_required
@require_http_methods(["GET", "POST"])
def credit_add(request):
    """Manual Topup: the operator's quick-add values and the call-credit packs."""
    return _items_page(request, kind="credit_pack", template="basket/credit_add.html")


@billing_required
@require_http_methods(["GET", "POST"])
def store(request):
    """Hardware from the operator's store."""
    return _items_page(request, kind="store_item", template="basket/store.html")


def _items_page(request, *, kind: str, template: str):
    error = ""
    if request.method == "POST":
        try:
            line = services.basket_item_add(
                account=request.account,
                product_id=int_or_none(request.POST.get("product_id")) or 0,
                quantity=request.POST.get("quantity", "1"),
                actor=_actor(request),
            )
        except ApplicationError as failure:
            error = failure.detail
        else:
            messages.success(request, f"{line.product.name} added to the basket.")
            return _redirect(request, reverse(BASKET))
    offers = _offers(request, kind)
    currency = request.account.billing_profile.currency
    quick = []
    if kind == "credit_pack":
        by_price = {offer.price: offer for offer in offers}
        quick = [
            by_price[value] for value in credit_quick_add(currency=currency) if value in by_price
        ]
    context = {
        "offers": offers,
        "quick": quick,
        "error": error,
        "tax": selectors.tax_shown(account=request.account),
        "locale": account_locale(account=request.account),
    }
    return render(request, template, context)
