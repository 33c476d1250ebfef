from django.urls import path

from billtone.billing import views

app_name = "billing"
urlpatterns = [
    path("next-bill/", views.next_bill, name="next-bill"),
]
