from django.urls import path

from billtone.banktransfers import views

app_name = "banktransfers"
urlpatterns = [
    path("payment-methods/", views.payment_methods, name="payment-methods"),
    path("payment-methods/bank-transfer/", views.bank_transfer_add, name="bank-transfer-add"),
    path(
        "payment-methods/bank-transfers/<id:transfer_id>/",
        views.bank_transfer_detail,
        name="bank-transfer",
    ),
]
