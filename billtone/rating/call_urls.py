from django.urls import path

from billtone.rating import call_views

app_name = "rating"
urlpatterns = [
    path("call-charges/", call_views.charges, name="call-charges"),
    path("call-charges.csv", call_views.charges_csv, name="call-charges-csv"),
]
