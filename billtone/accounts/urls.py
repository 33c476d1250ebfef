from django.urls import path

from billtone.accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.billing_profile, name="billing-profile"),
    path("api-tokens/", views.api_tokens, name="api-tokens"),
    path("api-tokens/<id:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
