from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from billtone.accounts import selectors, services
from billtone.accounts.decorators import billing_required
from billtone.accounts.forms import ApiTokenForm, BillingProfileForm
from billtone.accounts.validation import timezones
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.services import Actor


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


@billing_required
@require_http_methods(["GET", "POST"])
def billing_profile(request):
    """Figure 10.2: view and edit the billing profile."""
    profile = selectors.billing_profile_get(account=request.account)
    if request.method == "POST":
        form = BillingProfileForm(request.POST)
        try:
            services.billing_profile_update(
                account=request.account, actor=_actor(request), data=form.to_input()
            )
        except ValidationFailed as error:
            form.add_service_errors(error.errors)
        else:
            messages.success(request, "Billing profile saved.")
            if not request.htmx:
                return redirect("accounts:billing-profile")
            form = BillingProfileForm(initial=_initial(request.account))
    else:
        form = BillingProfileForm(initial=_initial(request.account))
    template = "accounts/_profile_form.html" if request.htmx else "accounts/profile.html"
    return render(request, template, {"form": form, "profile": profile, "timezones": timezones()})


def _initial(account) -> dict:
    profile = selectors.billing_profile_get(account=account)
    return {name: getattr(profile, name) for name in services.PROFILE_FIELDS}


@billing_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_create(
                membership=request.membership,
                name=form.cleaned_data["name"],
                actor=_actor(request),
            )
        except ValidationFailed as error:
            for message in error.errors.get("name", [error.detail]):
                form.add_error("name", message)
        else:
            form = ApiTokenForm()
    tokens = selectors.api_token_list(account=request.account)
    return render(
        request, "accounts/tokens.html", {"form": form, "tokens": tokens, "issued": issued}
    )


@billing_required
@require_POST
def api_token_revoke(request, token_id: int):
    try:
        token = services.api_token_revoke(
            account=request.account, token_id=token_id, actor=_actor(request)
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:api-tokens")
