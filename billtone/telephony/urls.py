from django.urls import path

from billtone.telephony import views

app_name = "telephony"
urlpatterns = [
    path("users-numbers/", views.users_numbers, name="users-numbers"),
    path("users-numbers/users/<id:user_id>/cancel/", views.user_cancel, name="user-cancel"),
    path(
        "users-numbers/users/<id:user_id>/plan/",
        views.user_plan_change,
        name="user-plan-change",
    ),
    path("users-numbers/numbers/<id:number_id>/cancel/", views.number_cancel, name="number-cancel"),
]
