from django.urls import path

from billtone.billing import pay_views

app_name = "billing-pay"
urlpatterns = [
    path("invoices/<int:invoice_id>/pay/", pay_views.invoice_pay, name="invoice-pay"),
    path(
        "invoices/<int:invoice_id>/pay/<int:payment_id>/",
        pay_views.invoice_pay_result,
        name="invoice-pay-result",
    ),
    path(
        "invoices/<int:invoice_id>/pay/<int:payment_id>/authenticate/",
        pay_views.invoice_pay_authenticate,
        name="invoice-pay-authenticate",
    ),
]
