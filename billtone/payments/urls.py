from django.urls import path

from billtone.payments import views

app_name = "payments"
urlpatterns = [
    path("payment-methods/cards/add/", views.card_add, name="card-add"),
    path(
        "payment-methods/cards/<id:card_id>/default/",
        views.card_set_default,
        name="card-set-default",
    ),
    path("payment-methods/cards/<id:card_id>/remove/", views.card_remove, name="card-remove"),
    path(
        "payment-methods/automatic-payments/",
        views.automatic_payments,
        name="automatic-payments",
    ),
    path("payment-methods/top-up/", views.top_up, name="top-up"),
    path("payment-methods/payments/<id:payment_id>/", views.payment_detail, name="payment"),
    path(
        "payment-methods/payments/<id:payment_id>/authenticate/",
        views.payment_authenticate,
        name="payment-authenticate",
    ),
]
