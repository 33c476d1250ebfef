from django.urls import path

from billtone.web import views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("favicon.ico", views.favicon),
]
