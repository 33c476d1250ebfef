from django.urls import path

from billtone.telephony import views

app_name = "telephony"
urlpatterns = [
    path("users-numbers/", views.users_numbers, name="users-numbers"),
]
