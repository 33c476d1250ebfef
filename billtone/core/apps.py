from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billtone.core"
    label = "core"
    verbose_name = "Core"
