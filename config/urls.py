from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from config.api import api, not_found

admin.site.site_header = "Billtone back office"
admin.site.site_title = "Billtone back office"
admin.site.index_title = "Operator"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/", not_found),
    path("billing/", include("billtone.accounts.urls")),
    path("billing/", include("billtone.ledger.urls")),
    path("billing/", include("billtone.banktransfers.urls")),
    path("billing/", include("billtone.payments.urls")),
    path("billing/", include("billtone.telephony.urls")),
    path("billing/", include("billtone.invoicing.urls")),
    path("billing/", include("billtone.basket.urls")),
    path("billing/", include("billtone.billing.urls")),
    path("billing/", include("billtone.billing.pay_urls")),
    path("billing/", include("billtone.rating.call_urls")),
    path("billing/", include("billtone.rating.topup_urls")),
    path("", include("billtone.web.urls")),
]

handler403 = "billtone.web.views.permission_denied"
handler404 = "billtone.web.views.not_found"
handler500 = "billtone.web.views.server_error"
