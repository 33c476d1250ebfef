from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billtone.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.urls import register_converter

        from billtone.core.converters import RowIdConverter

        register_converter(RowIdConverter, "id")
