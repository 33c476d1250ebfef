from django.urls import path

from billtone.billing import pay_views

app_name = "billing-pay"
urlpatterns = [
    path("invoices/<id:invoice_id>/pay/", pay_views.invoice_pay, name="invoice-pay"),
    path(
        "invoices/<id:invoice_id>/pay/<id:payment_id>/",
        pay_views.invoice_pay_result,
        name="invoice-pay-result",
    ),
    path(
        "invoices/<id:invoice_id>/pay/<id:payment_id>/authenticate/",
        pay_views.invoice_pay_authenticate,
        name="invoice-pay-authenticate",
    ),
]
