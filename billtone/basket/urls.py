from django.urls import path

from billtone.basket import checkout_views, views

app_name = "basket"
urlpatterns = [
    path("basket/", views.basket, name="basket"),
    path("basket/lines/<id:line_id>/quantity/", views.line_quantity, name="line_quantity"),
    path("basket/products/<id:product_id>/remove/", views.product_remove, name="product_remove"),
    path("basket/empty/", views.basket_empty, name="empty"),
    path("basket/add/user/", views.user_add, name="user_add"),
    path("basket/add/number/", views.number_add, name="number_add"),
    path("basket/add/call-credit/", views.credit_add, name="credit_add"),
    path("basket/store/", views.store, name="store"),
    path("basket/checkout/", checkout_views.checkout, name="checkout"),
    path(
        "basket/checkouts/<id:checkout_id>/",
        checkout_views.checkout_result,
        name="checkout_result",
    ),
    path(
        "basket/checkouts/<id:checkout_id>/authenticate/",
        checkout_views.checkout_authenticate,
        name="checkout_authenticate",
    ),
]
