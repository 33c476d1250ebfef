"""Phone users and the operator's inventory of numbers, as much of the PBX as billing needs.

A user or a number in a basket waits for payment: a user as `pending_payment`, a number as
`held` for the account until `held_until` (no one else can take it meanwhile; once that time
has passed anyone may). Checkout makes both active (`items_activate`). Each status carries
where it may go next (TRANSITIONS); the services write only those moves.

An account whose invoice went unpaid is suspended (`AccountSuspension`): its active users and
assigned numbers become `suspended` and return to active / assigned when it is reactivated.
A customer's cancellation may end the service later (`cancels_on`: the last day of service,
in the account's time zone); a periodic task finishes it the day after. A plan change the
operator's policy puts off to the next period waits in `next_plan` / `plan_changes_on`; the
same periodic task applies it on that day.
"""

from django.db import models
from django.db.models import Q

from billtone.catalog.models import Product
from billtone.telephony.numbers import E164_PATTERN


class PhoneUserStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"


# Only an active user is suspended, and a suspended one only ever returns to active (or is
# cancelled): the status to restore is always "active", so it is not stored.
USER_TRANSITIONS: dict[str, frozenset[str]] = {
    PhoneUserStatus.PENDING_PAYMENT: frozenset({PhoneUserStatus.ACTIVE, PhoneUserStatus.CANCELLED}),
    PhoneUserStatus.ACTIVE: frozenset({PhoneUserStatus.SUSPENDED, PhoneUserStatus.CANCELLED}),
    PhoneUserStatus.SUSPENDED: frozenset({PhoneUserStatus.ACTIVE, PhoneUserStatus.CANCELLED}),
    PhoneUserStatus.CANCELLED: frozenset(),
}


class PhoneNumberStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    HELD = "held", "Held"
    ASSIGNED = "assigned", "Assigned"
    SUSPENDED = "suspended", "Suspended"


# A held number goes back to the inventory (released, or its hold lapsed), to its holder
# (paid), or to another account once the hold has lapsed; a cancelled number returns to
# the inventory. An assigned number is suspended with its account and returns to assigned.
NUMBER_TRANSITIONS: dict[str, frozenset[str]] = {
    PhoneNumberStatus.AVAILABLE: frozenset({PhoneNumberStatus.HELD}),
    PhoneNumberStatus.HELD: frozenset(
        {PhoneNumberStatus.AVAILABLE, PhoneNumberStatus.HELD, PhoneNumberStatus.ASSIGNED}
    ),
    PhoneNumberStatus.ASSIGNED: frozenset(
        {PhoneNumberStatus.AVAILABLE, PhoneNumberStatus.SUSPENDED}
    ),
    PhoneNumberStatus.SUSPENDED: frozenset(
        {PhoneNumberStatus.ASSIGNED, PhoneNumberStatus.AVAILABLE}
    ),
}

EXTENSION_PATTERN = r"^[0-9]{2,6}$"


class PhoneUser(models.Model):
    Status = PhoneUserStatus
    TRANSITIONS = USER_TRANSITIONS

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="phone_users"
    )
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254)
    extension = models.CharField(max_length=6, help_text="2 to 6 digits, unique in the account")
    plan = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="phone_users",
        limit_choices_to={"kind": Product.Kind.PLAN},
    )
    status = models.CharField(
        max_length=20, choices=PhoneUserStatus.choices, default=PhoneUserStatus.PENDING_PAYMENT
    )
    created_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancels_on = models.DateField(
        null=True, blank=True, help_text="cancelled by the customer: the last day of service"
    )
    next_plan = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="phone_users_moving_in",
        limit_choices_to={"kind": Product.Kind.PLAN},
        help_text="a plan change scheduled by the customer: the plan from plan_changes_on",
    )
    plan_changes_on = models.DateField(
        null=True, blank=True, help_text="the first day on next_plan (account's time zone)"
    )

    class Meta:
        ordering = ["extension", "id"]
        indexes = [
            models.Index(
                fields=["cancels_on"],
                condition=Q(cancels_on__isnull=False),
                name="telephony_user_cancels_on",
            ),
            models.Index(
                fields=["plan_changes_on"],
                condition=Q(plan_changes_on__isnull=False),
                name="telephony_user_plan_changes_on",
            ),
        ]
        constraints = [
            # A cancelled user's extension may be given to a new user.
            models.UniqueConstraint(
                fields=["account", "extension"],
                condition=~Q(status=PhoneUserStatus.CANCELLED),
                name="telephony_user_extension_unique",
            ),
            models.CheckConstraint(
                condition=Q(extension__regex=EXTENSION_PATTERN),
                name="telephony_user_extension_digits",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PhoneUserStatus.values), name="telephony_user_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=PhoneUserStatus.ACTIVE) | Q(activated_at__isnull=False),
                name="telephony_user_active_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=PhoneUserStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="telephony_user_cancelled_has_date",
            ),
            models.CheckConstraint(
                condition=Q(next_plan__isnull=True, plan_changes_on__isnull=True)
                | Q(next_plan__isnull=False, plan_changes_on__isnull=False),
                name="telephony_user_plan_change_both",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (extension {self.extension})"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())


class PhoneNumber(models.Model):
    """One number of the operator's inventory; `account` is whose it is, or who holds it."""

    Status = PhoneNumberStatus
    TRANSITIONS = NUMBER_TRANSITIONS

    e164 = models.CharField("number", max_length=16, unique=True, help_text="E.164: +31201234567")
    country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")
    number_type = models.CharField(max_length=20, choices=Product.NumberType.choices)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="phone_numbers",
        limit_choices_to={"kind": Product.Kind.NUMBER},
    )
    status = models.CharField(
        max_length=20, choices=PhoneNumberStatus.choices, default=PhoneNumberStatus.AVAILABLE
    )
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="phone_numbers",
    )
    held_until = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    cancels_on = models.DateField(
        null=True, blank=True, help_text="cancelled by the customer: the last day of service"
    )

    class Meta:
        ordering = ["e164"]
        indexes = [
            models.Index(
                fields=["cancels_on"],
                condition=Q(cancels_on__isnull=False),
                name="telephony_number_cancels_on",
            ),
            models.Index(fields=["status", "held_until"], name="telephony_number_holds"),
            models.Index(fields=["country", "number_type", "status"], name="telephony_offer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(e164__regex=E164_PATTERN), name="telephony_number_e164"
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="telephony_number_country_iso"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status=PhoneNumberStatus.AVAILABLE,
                        account__isnull=True,
                        held_until__isnull=True,
                        assigned_at__isnull=True,
                        cancels_on__isnull=True,
                    )
                    | Q(
                        status=PhoneNumberStatus.HELD,
                        account__isnull=False,
                        held_until__isnull=False,
                        assigned_at__isnull=True,
                        cancels_on__isnull=True,
                    )
                    | Q(
                        status__in=[PhoneNumberStatus.ASSIGNED, PhoneNumberStatus.SUSPENDED],
                        account__isnull=False,
                        held_until__isnull=True,
                        assigned_at__isnull=False,
                    )
                ),
                name="telephony_number_status_fields",
            ),
        ]

    def __str__(self) -> str:
        return self.e164

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())


class AccountSuspension(models.Model):
    """Whether an account's service is suspended (an invoice unpaid after its last reminder):
    one row per account, made on first suspension and kept; `suspended_at` empty means the
    account is not suspended now. Suspending and reactivating lock this row first, so the
    two run one at a time per account."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.PROTECT, related_name="suspension"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    reactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(suspended_at__isnull=True) | ~Q(reason=""),
                name="telephony_suspension_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {'suspended' if self.suspended_at else 'active'}"
