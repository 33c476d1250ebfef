from django.urls import path

from billtone.rating import topup_views

app_name = "topup"
urlpatterns = [
    path("auto-top-up/", topup_views.auto_top_up, name="auto-top-up"),
]
