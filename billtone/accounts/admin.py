from django import forms
from django.contrib import admin

from billtone.accounts.models import Account, ApiToken, BillingProfile, Membership
from billtone.accounts.services import (
    PROFILE_FIELDS,
    BillingProfileInput,
    billing_currency_change_check,
    billing_profile_clean,
    billing_profile_update,
)
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class BillingProfileAdminForm(forms.ModelForm):
    """The back office checks a profile by the customer's rules (decision 0015), one message
    per field: none added where the field's own check already gave one."""

    class Meta:
        model = BillingProfile
        fields = PROFILE_FIELDS

    def clean(self):
        data = super().clean()
        typed = {name: data.get(name) or "" for name in PROFILE_FIELDS}
        try:
            data.update(billing_profile_clean(BillingProfileInput(**typed)))
            if self.instance.pk is not None:
                billing_currency_change_check(
                    account=self.instance.account,
                    current=self.instance.currency,
                    new=data["currency"],
                )
        except ValidationFailed as error:
            for name, messages in error.errors.items():
                if name not in self.errors:
                    self.add_error(name if name in self.fields else None, messages)
        return data


class BillingProfileInline(admin.StackedInline):
    model = BillingProfile
    form = BillingProfileAdminForm
    can_delete = False
    readonly_fields = ["updated_at"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "billing_email", "created_at"]
    search_fields = ["name", "billing_profile__billing_email", "billing_profile__company_name"]
    readonly_fields = ["created_at"]
    inlines = [BillingProfileInline, MembershipInline]

    @admin.display(description="Currency")
    def currency(self, obj):
        return obj.billing_profile.currency

    @admin.display(description="Billing email")
    def billing_email(self, obj):
        return obj.billing_profile.billing_email

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("billing_profile")

    def save_formset(self, request, form, formset, change):
        """An account's billing profile is saved as the customer's is, by
        billing_profile_update: audited, its billing email's change notified, its currency
        fixed once money is recorded in it. A new account's profile is saved as typed."""
        if formset.model is not BillingProfile or not change:
            return super().save_formset(request, form, formset, change)
        # What the admin's history message reads (construct_change_message).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if not profile_form.has_changed() or profile_form.instance.pk is None:
                continue
            values = {name: profile_form.cleaned_data[name] or "" for name in PROFILE_FIELDS}
            profile = billing_profile_update(
                account=form.instance,
                actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
                data=BillingProfileInput(**values),
            )
            formset.changed_objects.append((profile, profile_form.changed_data))
        return None


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "account", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["prefix", "secret_hash", "created_at", "last_used_at"]
    fields = [
        "name",
        "account",
        "user",
        "prefix",
        "secret_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def has_add_permission(self, request):
        return False  # tokens are issued by `billtone create-operator-token` or the panel
