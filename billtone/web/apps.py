from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "billtone.web"
    label = "web"
    verbose_name = "Billing panel"
