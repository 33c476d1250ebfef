"""The catalog in the back office: the operator's profile and billing policy (one row),
products with their prices inline, and VAT rates. Every change goes through the catalog's
services, checked by their rules (messages beside the fields) and audited; nothing is deleted
here (a product no longer sold is made inactive, a price removed from its product)."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.forms.models import BaseInlineFormSet, construct_instance
from django.shortcuts import redirect

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.catalog.selectors import operator_profile_get
from billtone.catalog.services import (
    OperatorProfileInput,
    ProductInput,
    operator_profile_clean,
    operator_profile_update,
    price_clean,
    price_remove,
    price_set,
    product_clean,
    product_save,
    tax_rate_clean,
    tax_rate_set,
)
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor

OPERATOR_FIELDS = list(OperatorProfileInput.__dataclass_fields__)
PRODUCT_FIELDS = list(ProductInput.__dataclass_fields__)


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _show(form: forms.BaseForm, error: ValidationFailed) -> None:
    """The service's messages beside their fields (on the form where it has no such field),
    without repeating a field's own message."""
    for name, messages in error.errors.items():
        field = name if name in form.fields else None
        if field and field in form.errors:
            continue
        for message in messages:
            form.add_error(field, message)


def _form_value(data: dict, name: str) -> object:
    """A cleaned form value for the service: booleans as they are, empty text as ""."""
    value = data.get(name, "")
    return value if isinstance(value, bool) else (value or "")


class ServiceForm(forms.ModelForm):
    """A form whose rules are the service's (called from clean): the model's own unique and
    check constraints are the database's guard behind it, not asked twice with other words."""

    def _post_clean(self):
        self.instance = construct_instance(self, self.instance, self._meta.fields)


class OperatorProfileForm(ServiceForm):
    class Meta:
        model = OperatorProfile
        fields = OPERATOR_FIELDS
        labels = {
            "cut_off_day": "Cut-off day",
            "number_hold_minutes": "Number hold (minutes)",
            "credit_quick_add": "Manual Topup amounts",
            "billing_day": "Billing day",
            "bills_from_funds": "Pay bills from business funds first",
            "dunning_days": "Retry an unpaid bill after (days)",
            "cancel_policy": "A cancelled user or number ends",
            "plan_change_policy": "A plan change takes effect",
            "auto_top_ups_per_day": "Auto top-ups per day, at most",
            "auto_top_ups_per_month": "Auto top-ups per month, at most",
            "auto_top_up_failures": "Turn auto top-up off after failures in a row",
        }

    def clean(self):
        data = super().clean()
        try:
            values = operator_profile_clean(
                OperatorProfileInput(**{f: _form_value(data, f) for f in OPERATOR_FIELDS})
            )
        except ValidationFailed as error:
            _show(self, error)
            return data
        data.update(values)
        return data


@admin.register(OperatorProfile)
class OperatorProfileAdmin(admin.ModelAdmin):
    """One row: the list opens it. Saved through operator_profile_update (audited)."""

    form = OperatorProfileForm
    fieldsets = [
        ("Operator", {"fields": ["legal_name", "street", "city", "postal_code", "country"]}),
        ("Tax and contact", {"fields": ["vat_id", "email"]}),
        (
            "Billing policy",
            {"fields": ["cut_off_day", "number_hold_minutes", "credit_quick_add"]},
        ),
        (
            "Monthly bills",
            {
                "fields": [
                    "billing_day",
                    "bills_from_funds",
                    "dunning_days",
                    "cancel_policy",
                    "plan_change_policy",
                ]
            },
        ),
        (
            "Auto top-up",
            {
                "fields": [
                    "auto_top_ups_per_day",
                    "auto_top_ups_per_month",
                    "auto_top_up_failures",
                ]
            },
        ),
    ]

    def changelist_view(self, request, extra_context=None):
        profile = operator_profile_get()
        return redirect("admin:catalog_operatorprofile_change", profile.pk)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        operator_profile_update(
            data=OperatorProfileInput(**{f: getattr(obj, f) for f in OPERATOR_FIELDS}),
            actor=_actor(request),
        )


class PriceForm(ServiceForm):
    currency = forms.ChoiceField(choices=())

    class Meta:
        model = Price
        fields = ["currency", "amount", "setup_amount"]
        help_texts = {"setup_amount": "Numbers only: charged once when the number is bought."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A blank first choice: an untouched empty row stays empty (not a price in the first
        # currency without an amount, which refused the whole product on the next save).
        currencies = [(c, c) for c in settings.BILLTONE_CURRENCIES]
        self.fields["currency"].choices = [("", "---------"), *currencies]
        if self.instance.pk:  # 12.00 EUR, not 12.0000 as stored
            for name in ("amount", "setup_amount"):
                money = Money(getattr(self.instance, name), self.instance.currency)
                self.initial[name] = money.plain()


class PriceFormSet(BaseInlineFormSet):
    """Each price checked by price_clean against the product as the form above has it."""

    def clean(self):
        super().clean()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors or not form.has_changed():
                continue
            currency = data["currency"]
            try:
                price_clean(
                    product=self.instance,
                    currency=currency,
                    amount=Money(data["amount"], currency),
                    setup=Money(data.get("setup_amount") or Decimal(0), currency),
                )
            except ValidationFailed as error:
                _show(form, error)


class PriceInline(admin.TabularInline):
    model = Price
    form = PriceForm
    formset = PriceFormSet
    extra = 1

    class Media:
        css = {"all": ["catalog/admin.css"]}


class ProductForm(ServiceForm):
    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def clean(self):
        data = super().clean()
        kind = data.get("kind", self.instance.kind)
        values = {f: data.get(f, getattr(self.instance, f)) for f in PRODUCT_FIELDS}
        try:
            cleaned = product_clean(
                ProductInput(**{**values, "kind": kind}),
                product=self.instance if self.instance.pk else None,
            )
        except ValidationFailed as error:
            _show(self, error)
            return data
        data.update(cleaned)
        self.instance.billing = cleaned["billing"]
        return data


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Saved through product_save and price_set (audited). A product's kind is fixed once it
    exists."""

    form = ProductForm
    inlines = [PriceInline]
    list_display = ["name", "code", "kind", "details", "prices_shown", "active"]
    list_filter = ["kind", "active", "number_country"]
    search_fields = ["code", "name"]
    fields = [*PRODUCT_FIELDS[:3], "billing", *PRODUCT_FIELDS[3:]]

    def get_readonly_fields(self, request, obj=None):
        return ["billing", "kind"] if obj is not None else ["billing"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description="details")
    def details(self, product: Product) -> str:
        if product.kind == Product.Kind.PLAN:
            return f"{product.included_minutes} minutes included"
        if product.kind == Product.Kind.NUMBER:
            return f"{product.number_country} {product.get_number_type_display().lower()}"
        if product.stock is not None:
            return f"{product.stock} in stock"
        return ""

    @admin.display(description="prices (net)")
    def prices_shown(self, product: Product) -> str:
        per = "/month" if product.billing == Product.Billing.MONTHLY else ""
        shown = []
        for price in product.prices.all():
            text = Money(price.amount, price.currency).format() + per
            if price.setup_amount:
                text += f" + {Money(price.setup_amount, price.currency).format()} setup"
            shown.append(text)
        return ", ".join(shown) or "none: not offered"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        existing = Product.objects.get(pk=obj.pk) if change else None
        saved = product_save(
            data=ProductInput(**{f: getattr(obj, f) for f in PRODUCT_FIELDS}),
            product=existing,
            actor=_actor(request),
        )
        obj.pk, obj.billing = saved.pk, saved.billing
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        product, actor = form.instance, _actor(request)
        for price_form in formset.forms:
            data = getattr(price_form, "cleaned_data", None)
            if not data or not (price_form.has_changed() or data.get("DELETE")):
                continue
            currency = data["currency"]
            if data.get("DELETE"):
                if price_form.instance.pk:
                    price_remove(
                        product=product, currency=price_form.instance.currency, actor=actor
                    )
                continue
            if price_form.instance.pk and price_form.instance.currency != currency:
                price_remove(product=product, currency=price_form.initial["currency"], actor=actor)
            price_set(
                product=product,
                currency=currency,
                amount=Money(data["amount"], currency),
                setup=Money(data.get("setup_amount") or Decimal(0), currency),
                actor=actor,
            )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class TaxRateForm(ServiceForm):
    class Meta:
        model = TaxRate
        fields = ["country", "rate", "name"]

    def clean(self):
        data = super().clean()
        try:
            values = tax_rate_clean(
                country=data.get("country", self.instance.country) or "",
                rate=data.get("rate") if data.get("rate") is not None else Decimal(-1),
                name=data.get("name") or "",
            )
        except ValidationFailed as error:
            _show(self, error)
            return data
        data.update(values)
        return data


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """Saved through tax_rate_set (audited). A rate is changed, never deleted: without one,
    an EU customer of that country cannot be charged (catalog.tax)."""

    form = TaxRateForm
    list_display = ["country", "rate_shown", "name"]
    search_fields = ["country"]

    @admin.display(description="rate", ordering="rate")
    def rate_shown(self, rate: TaxRate) -> str:
        return f"{rate.rate} %"

    def get_readonly_fields(self, request, obj=None):
        return ["country"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = tax_rate_set(
            country=obj.country, rate=obj.rate, name=obj.name, actor=_actor(request)
        )
        obj.pk = saved.pk
