from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "billtone.demo"
    label = "demo"
    verbose_name = "Demo data"
