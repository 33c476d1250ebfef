"""What the operator sells and on which terms: the operator's own profile and billing policy,
products, their prices per currency, and the VAT rates per country (decision 0017)."""

from django.conf import settings
from django.db import models

CUT_OFF_DAY_MAX = 28
BILLING_DAY_MAX = 28
NUMBER_HOLD_MINUTES_MAX = 1440
DUNNING_ATTEMPTS_MAX = 10
DUNNING_DAYS_MAX = 60
AUTO_TOP_UPS_MAX = 1000  # the highest cap the operator may set, per day or per month
AUTO_TOP_UP_FAILURES_MAX = 10


def _operator_name() -> str:
    return settings.BILLTONE_OPERATOR_NAME


class OperatorProfile(models.Model):
    """The one operator this install serves (pk=1): who issues the invoices, and the billing
    policy (cut-off day, how long a number is held in a basket, the Manual Topup values, the
    monthly billing day, how bills are paid, dunning, cancellations and plan changes)."""

    class CancelPolicy(models.TextChoices):
        END_OF_PERIOD = "end_of_period", "At the end of the paid period"
        IMMEDIATE_CREDIT = "immediate_credit", "At once, the unused days credited"

    class PlanChangePolicy(models.TextChoices):
        NEXT_PERIOD = "next_period", "From the next period"
        IMMEDIATE = "immediate", "At once, the difference prorated"

    SINGLETON_PK = 1

    legal_name = models.CharField(max_length=200, default=_operator_name)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. NL.")
    vat_id = models.CharField("VAT ID", max_length=32, blank=True)
    email = models.EmailField(blank=True)
    cut_off_day = models.PositiveSmallIntegerField(
        default=19,
        help_text=(
            "A monthly item bought after this day of the month is also charged for the "
            "whole next month (1–28)."
        ),
    )
    number_hold_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="How long a number in a basket stays held (1–1440 minutes)."
    )
    credit_quick_add = models.CharField(
        max_length=200,
        default="10,20,50,100",
        help_text="The Manual Topup amounts offered, separated by commas.",
    )
    billing_day = models.PositiveSmallIntegerField(
        default=1,
        help_text=(
            "Monthly fees are billed in advance on this day of the month, at midnight in each "
            "account's time zone (1–28)."
        ),
    )
    bills_from_funds = models.BooleanField(
        default=True,
        help_text="Pay bills from business funds first, then from the default card.",
    )
    dunning_days = models.CharField(
        max_length=100,
        default="1,3,7",
        help_text=(
            "An unpaid bill is tried again this many days after it was issued, separated by "
            "commas; after the last try the account is suspended."
        ),
    )
    cancel_policy = models.CharField(
        max_length=20, choices=CancelPolicy.choices, default=CancelPolicy.END_OF_PERIOD
    )
    plan_change_policy = models.CharField(
        max_length=20, choices=PlanChangePolicy.choices, default=PlanChangePolicy.NEXT_PERIOD
    )
    auto_top_ups_per_day = models.PositiveSmallIntegerField(
        default=5, help_text="At most this many auto top-ups per account per day (1–1000)."
    )
    auto_top_ups_per_month = models.PositiveSmallIntegerField(
        default=50, help_text="At most this many auto top-ups per account per month (1–1000)."
    )
    auto_top_up_failures = models.PositiveSmallIntegerField(
        default=3,
        help_text="After this many failed auto top-ups in a row, auto top-up turns off (1–10).",
    )

    class Meta:
        verbose_name = "Operator profile & billing policy"
        verbose_name_plural = "Operator profile & billing policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="operator_profile_single_row"),
            models.CheckConstraint(
                condition=models.Q(country="") | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="operator_profile_country_iso3166",
            ),
            models.CheckConstraint(
                condition=models.Q(cut_off_day__gte=1, cut_off_day__lte=CUT_OFF_DAY_MAX),
                name="operator_profile_cut_off_day_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    number_hold_minutes__gte=1, number_hold_minutes__lte=NUMBER_HOLD_MINUTES_MAX
                ),
                name="operator_profile_hold_minutes_range",
            ),
            models.CheckConstraint(
                condition=models.Q(billing_day__gte=1, billing_day__lte=BILLING_DAY_MAX),
                name="operator_profile_billing_day_range",
            ),
            models.CheckConstraint(
                condition=models.Q(cancel_policy__in=["end_of_period", "immediate_credit"]),
                name="operator_profile_cancel_policy_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(plan_change_policy__in=["next_period", "immediate"]),
                name="operator_profile_plan_change_policy_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    auto_top_ups_per_day__gte=1,
                    auto_top_ups_per_day__lte=AUTO_TOP_UPS_MAX,
                    auto_top_ups_per_month__gte=1,
                    auto_top_ups_per_month__lte=AUTO_TOP_UPS_MAX,
                    auto_top_up_failures__gte=1,
                    auto_top_up_failures__lte=AUTO_TOP_UP_FAILURES_MAX,
                ),
                name="operator_profile_auto_top_up_caps_range",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def dunning_schedule(self) -> list[int]:
        """The days after issue on which an unpaid bill is tried again, ascending."""
        return [int(part) for part in self.dunning_days.split(",") if part.strip()]


class Product(models.Model):
    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        NUMBER = "number", "Number"
        CREDIT_PACK = "credit_pack", "Call-credit pack"
        STORE_ITEM = "store_item", "Store item"

    class Billing(models.TextChoices):
        ONE_OFF = "one_off", "One-off"
        MONTHLY = "monthly", "Monthly"

    class NumberType(models.TextChoices):
        GEOGRAPHIC = "geographic", "Geographic"
        NATIONAL = "national", "National"
        MOBILE = "mobile", "Mobile"
        TOLL_FREE = "toll_free", "Toll-free"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    billing = models.CharField(max_length=10, choices=Billing.choices)
    included_minutes = models.PositiveIntegerField(default=0, help_text="Plans only.")
    included_scope = models.CharField(
        max_length=10,
        choices=[("national", "National destinations"), ("countries", "The countries listed")],
        default="national",
        help_text="Plans only: which calls the included minutes cover.",
    )
    included_countries = models.CharField(
        max_length=400,
        blank=True,
        help_text="Plans covering 'the countries listed': ISO codes separated by commas (DE,FR).",
    )
    number_country = models.CharField(max_length=2, blank=True, help_text="Numbers only.")
    number_type = models.CharField(
        max_length=20, choices=NumberType.choices, blank=True, help_text="Numbers only."
    )
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Store items only; empty = not counted."
    )
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["plan", "number", "credit_pack", "store_item"]),
                name="product_kind_valid",
            ),
            # Plans and numbers are billed monthly; packs and store items once.
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["plan", "number"], billing="monthly")
                    | models.Q(kind__in=["credit_pack", "store_item"], billing="one_off")
                ),
                name="product_billing_matches_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="plan") | models.Q(included_minutes=0),
                name="product_minutes_plans_only",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="number",
                        number_country__regex=r"^[A-Z]{2}$",
                        number_type__in=["geographic", "national", "mobile", "toll_free"],
                    )
                    | (~models.Q(kind="number") & models.Q(number_country="", number_type=""))
                ),
                name="product_number_fields_numbers_only",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="store_item") | models.Q(stock__isnull=True),
                name="product_stock_store_items_only",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def included_country_set(self) -> frozenset[str]:
        return country_set(self.included_countries)


def country_set(text: str) -> frozenset[str]:
    """The country codes of a comma-separated list (Product.included_countries)."""
    return frozenset(code.strip().upper() for code in text.split(",") if code.strip())


class Price(models.Model):
    """A product's net price in one currency: the monthly fee of a monthly product, the price
    of a one-off one; numbers add a one-off setup fee."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    setup_amount = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        ordering = ["product", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"], name="price_one_per_currency"),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="price_currency_iso4217"
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="price_amount_gte_0"),
            models.CheckConstraint(
                condition=models.Q(setup_amount__gte=0), name="price_setup_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.amount} {self.currency}"


class TaxRate(models.Model):
    """The VAT rate the operator charges customers in `country` (percent, e.g. 21.00)."""

    country = models.CharField(max_length=2, unique=True)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    name = models.CharField(max_length=40, default="VAT")

    class Meta:
        ordering = ["country"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="tax_rate_country_iso3166"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lt=100), name="tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.rate} %"
