"""The basket (one per account), its lines, each checkout of it, and the orders of store items.

A line is what the customer is about to buy: a phone user on a paid plan (the user waits,
pending payment), a held phone number, a call-credit pack or a store item (with a quantity).
The prices seen when a line was added are kept beside it, so that the basket can show a price
changed since; what is charged is always re-quoted from the catalog (quote.py).
"""

from django.db import models
from django.db.models import Q

from billtone.core.money import Money

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 4  # as the ledger's amounts


class LineKind(models.TextChoices):
    PLAN = "plan", "Phone user"
    NUMBER = "number", "Phone number"
    CREDIT_PACK = "credit_pack", "Call credit"
    STORE_ITEM = "store_item", "Store item"


# Kinds bought by the unit: the customer changes their quantity with -/+.
COUNTED_KINDS = (LineKind.CREDIT_PACK, LineKind.STORE_ITEM)


class Basket(models.Model):
    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, related_name="basket"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Basket of {self.account}"


class BasketLine(models.Model):
    Kind = LineKind

    basket = models.ForeignKey(Basket, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    phone_user = models.OneToOneField(
        "telephony.PhoneUser",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="basket_line",
    )
    phone_number = models.ForeignKey(
        "telephony.PhoneNumber",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="basket_lines",
    )
    unit_price_seen = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        help_text="net: the monthly fee, or the one-off price, when the line was added",
    )
    setup_price_seen = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, default=0
    )
    currency = models.CharField(max_length=3)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="basket_line_quantity_min"),
            models.CheckConstraint(
                condition=Q(kind__in=LineKind.values), name="basket_line_kind_valid"
            ),
            # A user or a number is one item: quantity 1, and the line points at it.
            models.CheckConstraint(
                condition=(
                    Q(kind=LineKind.PLAN, phone_user__isnull=False, phone_number__isnull=True)
                    | Q(kind=LineKind.NUMBER, phone_number__isnull=False, phone_user__isnull=True)
                    | Q(kind__in=COUNTED_KINDS, phone_user__isnull=True, phone_number__isnull=True)
                ),
                name="basket_line_item_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=COUNTED_KINDS) | Q(quantity=1),
                name="basket_line_one_item_one_line",
            ),
            # Adding a pack or store item again raises the quantity of its line.
            models.UniqueConstraint(
                fields=["basket", "product"],
                condition=Q(kind__in=COUNTED_KINDS),
                name="basket_line_one_per_counted_product",
            ),
            models.UniqueConstraint(
                fields=["basket", "phone_number"],
                condition=Q(phone_number__isnull=False),
                name="basket_line_number_once",
            ),
            models.CheckConstraint(
                condition=Q(unit_price_seen__gte=0, setup_price_seen__gte=0),
                name="basket_line_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ×{self.quantity} ({self.product_id})"


class CheckoutMethod(models.TextChoices):
    FUNDS = "funds", "Business funds"
    SAVED_CARD = "saved_card", "Saved card"
    NEW_CARD = "new_card", "New card"


class CheckoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AWAITING_PAYMENT = "awaiting_payment", "Waiting for the card payment"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


# A checkout not settled yet: the periodic task looks at these (partial index).
OPEN_STATUSES = (CheckoutStatus.PENDING, CheckoutStatus.AWAITING_PAYMENT)


class Checkout(models.Model):
    """One attempt to pay the basket. A checkout with business funds is written in the
    transaction that pays it (a refusal leaves no row); a card checkout is committed pending
    before the card is charged (the payment's key names it) and settled afterwards."""

    Method = CheckoutMethod
    Status = CheckoutStatus

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="checkouts"
    )
    idempotency_key = models.CharField(max_length=255)
    method = models.CharField(max_length=20, choices=CheckoutMethod.choices)
    status = models.CharField(
        max_length=20, choices=CheckoutStatus.choices, default=CheckoutStatus.PENDING
    )
    quote = models.JSONField(help_text="the lines and totals the customer agreed to pay")
    gross = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3)
    payment = models.OneToOneField(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="checkout",
    )
    invoice = models.OneToOneField(
        "invoicing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="checkout",
    )
    failure_message = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="basket_checkout_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(method__in=CheckoutMethod.values), name="basket_checkout_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CheckoutStatus.values), name="basket_checkout_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=CheckoutStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="basket_checkout_completed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(method=CheckoutMethod.FUNDS, payment__isnull=True)
                | ~Q(method=CheckoutMethod.FUNDS),
                name="basket_checkout_funds_without_card",
            ),
            models.CheckConstraint(condition=Q(gross__gte=0), name="basket_checkout_gross_min"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="basket_checkout_open",
            )
        ]

    def __str__(self) -> str:
        return f"Checkout #{self.pk} ({self.status})"

    @property
    def gross_money(self) -> Money:
        return Money(self.gross, self.currency).rounded()


class Order(models.Model):
    """Store items bought in a checkout, for the operator to ship."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    checkout = models.OneToOneField(Checkout, on_delete=models.PROTECT, related_name="order")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="basket_order_line_quantity")
        ]

    def __str__(self) -> str:
        return f"{self.description} ×{self.quantity}"
