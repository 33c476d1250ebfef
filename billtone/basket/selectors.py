"""Reads of the basket and its checkouts, scoped to one account (the periodic task's list of
checkouts to settle aside: it looks at every account's).

`basket_quote_get` is what the basket page, its badge, the API and checkout all read: the
basket's lines priced from the catalog now (quote.py), each line's problem if it cannot be
bought as it is (a lapsed hold, a product no longer sold in the account's currency).
"""

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from billtone.accounts.models import Account
from billtone.basket.models import (
    COUNTED_KINDS,
    OPEN_STATUSES,
    BasketLine,
    Checkout,
    CheckoutStatus,
    LineKind,
)
from billtone.basket.quote import Quote, QuoteItem, item_lines, quote_build
from billtone.catalog.models import OperatorProfile, Product
from billtone.catalog.selectors import operator_profile_get, prices_offered, tax_rates
from billtone.catalog.tax import TaxTreatment, tax_treatment
from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.money import Money
from billtone.core.rows import ModelColumns
from billtone.ledger.selectors import account_locale
from billtone.payments.models import PaymentStatus
from billtone.telephony.models import PhoneNumber, PhoneUser

USER_PENDING = "pending_payment"
NUMBER_HELD = "held"


@dataclass(frozen=True)
class LineView:
    """One basket line as the page and the API show it."""

    line: BasketLine
    description: str
    billing: str  # one_off | monthly
    period_start: date | None
    period_end: date | None
    unit_price: Money  # net: the monthly fee or the one-off price, now
    setup: Money
    total: Money  # net of the line's first charge (and setup fee)
    price_was: Money | None  # the price when it was added, if it changed since
    problem: str  # why it cannot be bought as it is; "" if it can

    @property
    def counted(self) -> bool:
        return self.line.kind in COUNTED_KINDS

    @property
    def pk(self) -> int:
        return self.line.pk


@dataclass(frozen=True)
class BasketView:
    account: Account
    currency: str
    locale: str
    lines: list[LineView]
    quote: Quote
    tax: TaxTreatment
    bought_at: datetime
    problems: list[str] = field(default_factory=list)
    tax_problem: str = ""  # the VAT cannot be decided yet: nothing can be paid
    operator: OperatorProfile | None = None  # as the quote read it: its tax, the invoice's

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def net(self) -> Money:
        return self.quote.totals.net

    @property
    def tax_total(self) -> Money:
        return self.quote.totals.tax

    @property
    def gross(self) -> Money:
        return self.quote.totals.gross

    @property
    def token(self) -> str:
        return self.quote.token

    @property
    def products(self) -> list[tuple[int, str, list[LineView]]]:
        """Lines grouped by product: the bin removes a product's lines together."""
        groups: dict[int, list[LineView]] = {}
        for view in self.lines:
            groups.setdefault(view.line.product_id, []).append(view)
        return [(pk, views[0].line.product.name, views) for pk, views in groups.items()]


LINE_KEY = ("pk", "kind", "product_id", "quantity", "phone_user_id", "phone_number_id", "currency")


def basket_line_keys(*, account: Account) -> list[tuple]:
    """What the basket's lines are (LINE_KEY each, in the basket's order), without pricing
    them: a card checkout compares them, under the basket's lock, with the lines it quoted."""
    # Plain SQL (LINE_KEY's columns): the ORM's query building cost ten times the round trip
    # (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.kind, l.product_id, l.quantity, l.phone_user_id, l.phone_number_id, "
            "l.currency FROM basket_basketline l JOIN basket_basket b ON b.id = l.basket_id "
            "WHERE b.account_id = %s ORDER BY l.added_at, l.id",
            [account.pk],
        )
        return [tuple(row) for row in cursor.fetchall()]


def line_keys(view: "BasketView") -> list[tuple]:
    """The LINE_KEY of each line of a quoted basket: basket_line_keys as it was then."""
    return [tuple(getattr(item.line, name) for name in LINE_KEY) for item in view.lines]


def basket_lines(*, account: Account):
    return (
        BasketLine.objects.filter(basket__account=account)
        .select_related("product", "phone_user", "phone_number")
        .order_by("added_at", "id")
    )


@functools.cache
def _lines_to_price_query() -> tuple[str, list[ModelColumns]]:
    """basket_lines as basket_quote_get reads them for every quote: written once
    (core/rows.py; decision 0021)."""
    line, product = ModelColumns(BasketLine, "l"), ModelColumns(Product, "p")
    user, number = ModelColumns(PhoneUser, "u"), ModelColumns(PhoneNumber, "n")
    sql = (
        f"SELECT {line.select}, {product.select}, {user.select}, {number.select} "  # noqa: S608 (names from the models)
        f"FROM {line.table} JOIN {product.table} ON p.id = l.product_id "
        f"LEFT JOIN {user.table} ON u.id = l.phone_user_id "
        f"LEFT JOIN {number.table} ON n.id = l.phone_number_id "
        "WHERE l.basket_id = (SELECT b.id FROM basket_basket b WHERE b.account_id = %s) "
        "ORDER BY l.added_at, l.id"
    )
    return sql, [line, product, user, number]


def _lines_to_price(*, account: Account) -> list[BasketLine]:
    sql, (line, product, user, number) = _lines_to_price_query()
    using = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk])
        rows = cursor.fetchall()
    result = []
    for row in rows:
        start = 0
        item = line.instance(row, start, using=using)
        start += len(line)
        item.product = product.instance(row, start, using=using)
        start += len(product)
        item.phone_user = user.instance(row, start, using=using)
        start += len(user)
        item.phone_number = number.instance(row, start, using=using)
        result.append(item)
    return result


ID_MAX = 2**63 - 1


def basket_line_get(*, account: Account, line_id: int) -> BasketLine:
    if not isinstance(line_id, int) or not 0 < line_id <= ID_MAX:
        raise NotFound("No such line in this basket.")
    line = basket_lines(account=account).filter(pk=line_id).first()
    if line is None:
        raise NotFound("No such line in this basket.")
    return line


def line_description(line: BasketLine) -> str:
    if line.kind == LineKind.PLAN:
        user = line.phone_user
        return f"{line.product.name} plan: {user.name} (extension {user.extension})"
    if line.kind == LineKind.NUMBER:
        return f"{line.product.name}: {line.phone_number.e164}"
    return line.product.name


def _line_problem(line: BasketLine, *, offered: bool, currency: str, now: datetime) -> str:
    if not offered or line.currency != currency:
        return f"{line.product.name} is no longer sold in {currency}: remove it from the basket."
    if line.kind == LineKind.NUMBER:
        number = line.phone_number
        held = (
            number.status == NUMBER_HELD
            and number.account_id == line.basket.account_id
            and number.held_until is not None
            and number.held_until >= now
        )
        if not held:
            return (
                f"The hold on {number.e164} lapsed and the number went back to the inventory: "
                "remove it and choose a number again."
            )
    if line.kind == LineKind.PLAN and line.phone_user.status != USER_PENDING:
        return f"{line.phone_user.name} is no longer waiting for payment: remove the line."
    return ""


def tax_treatment_for(*, account: Account, operator: OperatorProfile | None = None) -> TaxTreatment:
    """`operator`: the operator's profile if the caller has read it already."""
    profile = account.billing_profile
    operator = operator or operator_profile_get()
    return tax_treatment(
        operator_country=operator.country,
        customer_country=profile.country,
        customer_vat_id=profile.tax_id,
        rates=tax_rates(countries=(profile.country, operator.country)),  # the one it takes
    )


def tax_shown(*, account: Account) -> TaxTreatment | None:
    """The tax treatment to show prices with VAT, or None while it cannot be decided (no
    rate set yet for the customer's country): pages then show net prices only."""
    try:
        return tax_treatment_for(account=account)
    except ApplicationError:
        return None


def basket_quote_get(*, account: Account, at: datetime | None = None) -> BasketView:
    """The basket priced now (or at `at`: a card checkout is priced when it was started).
    Lines with a problem are shown but left out of the totals."""
    bought_at = at or clock.now()
    profile = account.billing_profile
    currency = profile.currency
    lines = _lines_to_price(account=account)
    offers = prices_offered(currency=currency, product_ids={line.product_id for line in lines})
    views: list[tuple[BasketLine, QuoteItem, str]] = []
    items: list[QuoteItem] = []
    for line in lines:
        offer = offers.get(line.product_id)
        problem = _line_problem(line, offered=offer is not None, currency=currency, now=bought_at)
        price = offer[0] if offer else Money(line.unit_price_seen, line.currency).rounded()
        setup = offer[1] if offer and line.kind == LineKind.NUMBER else Money.zero(line.currency)
        item = QuoteItem(
            line_id=line.pk,
            kind=line.kind,
            product_id=line.product_id,
            description=line_description(line),
            quantity=line.quantity,
            price=price,
            setup=setup,
        )
        if not problem:
            items.append(item)
        views.append((line, item, problem))
    tax_problem = ""
    operator = operator_profile_get()
    try:
        tax = tax_treatment_for(account=account, operator=operator)
    except ApplicationError as error:  # e.g. no VAT rate set for the customer's country
        tax = TaxTreatment(rate=Decimal(0), reverse_charge=False, mention="", country="")
        tax_problem = error.detail
    cut_off_day = operator.cut_off_day
    quote = quote_build(
        items=items,
        bought_at=bought_at,
        timezone=profile.timezone,
        cut_off_day=cut_off_day,
        tax=tax,
        currency=currency,
    )
    return BasketView(
        account=account,
        currency=currency,
        locale=account_locale(account=account),
        lines=_line_views(
            views,
            quote=quote,
            bought_at=bought_at,
            timezone=profile.timezone,
            cut_off_day=cut_off_day,
        ),
        quote=quote,
        tax=tax,
        bought_at=bought_at,
        problems=[problem for _, _, problem in views if problem]
        + ([tax_problem] if tax_problem else []),
        tax_problem=tax_problem,
        operator=operator,
    )


def _line_views(views, *, quote: Quote, bought_at, timezone, cut_off_day) -> list[LineView]:
    """Each line with its invoice lines' net: from the quote's totals, or (a line left out
    of the quote for a problem) priced alone, for information."""
    nets = iter(quote.totals.lines)
    priced = {item.line_id: (lines, [next(nets).net for _ in lines]) for item, lines in quote.items}
    result = []
    for line, item, problem in views:
        if item.line_id in priced:
            invoice_lines, amounts = priced[item.line_id]
        else:
            invoice_lines = item_lines(
                item=item, bought_at=bought_at, timezone=timezone, cut_off_day=cut_off_day
            )
            amounts = [(entry.unit_price * entry.quantity).rounded() for entry in invoice_lines]
        first = invoice_lines[0]
        seen = Money(line.unit_price_seen, line.currency).rounded()
        result.append(
            LineView(
                line=line,
                description=item.description,
                billing=first.billing,
                period_start=first.period_start,
                period_end=first.period_end,
                unit_price=item.price,
                setup=item.setup,
                total=sum(amounts, Money.zero(item.price.currency)),
                price_was=seen if seen != item.price else None,
                problem=problem,
            )
        )
    return result


@dataclass(frozen=True)
class Badge:
    count: int
    gross: Money | None


def basket_badge(*, account: Account) -> Badge:
    """The badge in the Billing panel: how many lines, and what they cost (gross)."""
    if not BasketLine.objects.filter(basket__account=account).exists():
        return Badge(count=0, gross=None)
    view = basket_quote_get(account=account)
    return Badge(count=len(view.lines), gross=view.gross)


def checkout_get(*, account: Account, checkout_id: int) -> Checkout:
    if not isinstance(checkout_id, int) or not 0 < checkout_id <= ID_MAX:
        raise NotFound("No such checkout in this account.")
    checkout = (
        Checkout.objects.filter(account=account, pk=checkout_id)
        .select_related("payment", "payment__card", "invoice")
        .first()
    )
    if checkout is None:
        raise NotFound("No such checkout in this account.")
    return checkout


ORPHAN_AFTER = timedelta(minutes=15)
"""A card checkout still pending this long after it began, with no payment linked, was left by
a process that stopped between committing it and linking its card payment."""


def checkouts_to_settle_ids(*, limit: int = 500) -> list[int]:
    """Card checkouts still open whose payment has a final outcome now (succeeded or failed):
    the payments app's recovery settled it after the customer left; and card checkouts whose
    process stopped before linking their payment (ORPHAN_AFTER). A payment still waiting
    for 3-D Secure, or whose outcome is still unknown, leaves its checkout out."""
    settled = Q(
        status__in=OPEN_STATUSES,
        payment__status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.FAILED],
    )
    orphaned = Q(
        status=CheckoutStatus.PENDING,
        payment__isnull=True,
        created_at__lt=clock.now() - ORPHAN_AFTER,
    )
    return list(
        Checkout.objects.filter(settled | orphaned)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
