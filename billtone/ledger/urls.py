from django.urls import path

from billtone.ledger import views

app_name = "ledger"
urlpatterns = [
    path("balances/", views.balances, name="balances"),
    path("balances/<str:kind>/", views.balances, name="statement"),
]
